"""A project admin manages members and roles and rotates the CI token from Settings."""

import re

import pytest

from runs.models import Membership
from runs.tokens import project_for_token
from tests.builders import a_project, a_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    project, token = a_project()
    user = a_user("root", member_of=project, role=Membership.Role.ADMIN)
    client.force_login(user)
    return client, project, token


def test_an_admin_adds_a_member_changes_their_role_and_removes_them(admin):
    client, project, _ = admin
    bob = a_user("bob")

    client.post("/p/dispatch/settings/members/", {"username": "bob", "role": "viewer"})
    assert Membership.objects.get(project=project, user=bob).role == "viewer"
    client.post(f"/p/dispatch/settings/members/{bob.pk}/", {"role": "triager"})
    assert Membership.objects.get(project=project, user=bob).role == "triager"
    page = client.get("/p/dispatch/settings/").content.decode()
    assert 'aria-label="Role of bob"' in page

    client.post(f"/p/dispatch/settings/members/{bob.pk}/", {"remove": "on"})
    assert not Membership.objects.filter(project=project, user=bob).exists()


def test_the_last_admin_cannot_leave_or_step_down(admin):
    client, project, _ = admin
    root = Membership.objects.get(project=project).user

    answer = client.post(f"/p/dispatch/settings/members/{root.pk}/", {"role": "viewer"},
                         follow=True)  # fmt: skip

    assert "only admin" in answer.content.decode()
    assert Membership.objects.get(project=project).role == "admin"


def test_a_rotated_token_is_shown_once_and_the_old_one_keeps_working_for_a_while(admin):
    client, project, old = admin

    page = client.post("/p/dispatch/settings/token/")
    new = re.search(r'data-testid="token">([^<]+)<', page.content.decode()).group(1)

    assert page["Cache-Control"] == "no-store"
    assert project_for_token(new) == project and project_for_token(old) == project
    assert new not in client.get("/p/dispatch/settings/").content.decode()


def test_a_triager_cannot_manage_members_or_tokens(client):
    project, _ = a_project()
    client.force_login(a_user("tri", member_of=project))

    promote = {"username": "tri", "role": "admin"}
    assert client.post("/p/dispatch/settings/members/", promote).status_code == 403
    assert client.post("/p/dispatch/settings/token/").status_code == 403
    assert Membership.objects.get(project=project).role == "triager"


def test_the_last_admin_cannot_step_down_through_the_add_form_either(admin):
    client, project, _ = admin

    answer = client.post("/p/dispatch/settings/members/", {"username": "root", "role": "viewer"},
                         follow=True)  # fmt: skip

    assert answer.status_code == 200 and "only admin" in answer.content.decode()
    assert Membership.objects.get(project=project).role == "admin"
