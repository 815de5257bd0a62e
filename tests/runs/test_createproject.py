"""createproject, as an operator runs it: a project, and its token printed last."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runs.models import Project
from runs.tokens import project_for_token


@pytest.mark.django_db
def test_createproject_prints_a_working_token_as_the_last_line():
    out = io.StringIO()
    call_command("createproject", "dispatch", "--name", "Dispatch", stdout=out)

    token = out.getvalue().strip().splitlines()[-1]
    project = Project.objects.get(slug="dispatch")
    assert project.name == "Dispatch"
    assert project_for_token(token) == project
    assert token not in project.tokens.get().token_hash


@pytest.mark.django_db
def test_createproject_refuses_an_existing_slug():
    call_command("createproject", "dispatch", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("createproject", "dispatch", stdout=io.StringIO())
