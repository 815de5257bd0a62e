"""Who sees what: pages ask for a login, 404 outside a member's projects, and roles decide
who reads, acts and configures. No URL shows or changes another project's data: a matrix
generated from the URL conf."""

import pytest

from defects.models import Defect, DefectEvent, RoutingRule, RunbookLink, Team
from reruns.models import Rerun
from runs.models import Membership
from tests.builders import a_project, a_report, a_scenario, a_triaged_run, a_user
from tests.routes import fill, named_routes
from tests.runs.run_builders import ingest

pytestmark = pytest.mark.django_db

PUBLIC = {"login", "logout"}
# Routes that name no project; every other route must take one, so a new view is either
# listed here on purpose or checked by the matrix below.
WITHOUT_PROJECT = {
    "home",
    "my_queue",
    "healthz",
    "metrics",
    "api_schema",
    "api_openapi",
    "api_docs",
}

# Enough fields for any action or settings form to do something, were it allowed.
FORM = {"action": "acknowledge", "version": 1, "section": "team", "name": "x", "q": "SEC"}


def snapshot() -> tuple:
    return (
        list(Defect.objects.order_by("pk").values_list("state", "defect_class", "owner_team_id")),
        list(Rerun.objects.order_by("pk").values_list("state", "scenario_keys")),
        DefectEvent.objects.count(),
        Team.objects.count(),
        list(RoutingRule.objects.order_by("pk").values_list("position", "team_id")),
        RunbookLink.objects.count(),
    )


@pytest.mark.django_db
def test_pages_ask_for_a_login(client, project_and_token):
    response = client.get("/p/dispatch/runs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_pages_of_a_project_the_user_is_not_in_are_404(client, project_and_token):
    project, _ = project_and_token
    run = ingest(project, a_report())
    other, _ = a_project("billing", "Billing")
    client.force_login(a_user("outsider", member_of=other))

    assert client.get("/p/dispatch/runs/").status_code == 404
    assert client.get(f"/p/dispatch/runs/{run.pk}/").status_code == 404
    assert client.get(f"/p/billing/runs/{run.pk}/").status_code == 404
    assert "Dispatch" not in client.get("/").content.decode()


def test_every_project_url_answers_404_for_another_projects_ids(two_projects):
    client = two_projects["client"]
    theirs = two_projects["theirs"]
    before = snapshot()
    checked = []
    for name, route in named_routes():
        if name in PUBLIC or name in WITHOUT_PROJECT or name.startswith("api_"):
            assert "<slug" not in route or name.startswith("api_"), name
            continue
        needs_ids = any(
            param in route
            for param in (
                "run_id",
                "defect_id",
                "rerun_id",
                "rule_id",
                "link_id",
                "user_id",
                "reason_id",
                "key",
            )
        )
        # Their slug, or my slug with their ids when the route takes ids.
        for slug in ("theirs", "mine") if needs_ids else ("theirs",):
            url = fill(route, name, {**theirs, "slug": slug})
            for method in ("get", "post"):
                response = getattr(client, method)(url, FORM)
                assert response.status_code in (404, 405), (method, url, response.status_code)
                checked.append((method, url))
    assert snapshot() == before
    assert len(checked) > 20


def test_pages_without_a_project_show_only_my_projects(two_projects):
    client = two_projects["client"]
    for url in ("/", "/queue/"):
        html = client.get(url).content.decode()
        assert "Theirs" not in html and "SEC-001" not in html


def test_every_route_either_names_a_project_or_is_known_not_to():
    for name, route in named_routes():
        known = name in PUBLIC | WITHOUT_PROJECT or name == "api_rerun_status"
        assert known or "<slug" in route, f"{name} ({route}) is not in the isolation matrix"


@pytest.mark.parametrize(
    ("role", "url", "method", "allowed"),
    [
        ("triager", "/p/dispatch/settings/", "get", False),
        ("viewer", "/p/dispatch/defects/bulk/", "post", False),
        ("viewer", "/p/dispatch/defects/{defect}/github/", "post", False),
        ("viewer", "/p/dispatch/runs/{run}/rerun/", "post", False),
        ("triager", "/p/dispatch/defects/{defect}/", "get", True),
        ("admin", "/p/dispatch/settings/", "get", True),
    ],
)
def test_roles_decide_who_reads_acts_and_configures(client, project, role, url, method, allowed):
    run = a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    client.force_login(a_user("someone", member_of=project, role=Membership.Role(role)))
    target = url.format(defect=Defect.objects.get().pk, run=run.pk)
    response = getattr(client, method)(target, {"action": "acknowledge", "failed": "1"})
    assert (response.status_code in (200, 302)) is allowed, response.status_code
    assert (response.status_code == 403) is (not allowed)
