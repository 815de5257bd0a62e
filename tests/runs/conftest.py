"""Fixtures of the runs pages: the project, a member logged in, a short history of runs."""

import pytest

from tests.builders import a_report, a_scenario, a_stored_run, a_user


@pytest.fixture
def project(project_and_token):
    return project_and_token[0]


@pytest.fixture
def member(client, project):
    client.force_login(a_user("dana", member_of=project))
    return client


@pytest.fixture
def member_client(client, project_and_token):
    project, _ = project_and_token
    user = a_user("dana", member_of=project)
    client.force_login(user)
    return client


@pytest.fixture
def history(project_and_token):
    project, _ = project_and_token
    a_user("dana", member_of=project)
    runs = {}
    for day in (5, 4, 3):
        runs[f"nightly-{day}"] = a_stored_run(
            project,
            a_report(
                f"nightly-{day}",
                [a_scenario("BID-001", "failed" if day == 4 else "passed")],
                suite="full",
                startedAt=f"2026-11-{20 - day:02d}T02:00:00Z",
                finishedAt=f"2026-11-{20 - day:02d}T02:30:00Z",
            ),
        )
    runs["pr-1"] = a_stored_run(
        project,
        a_report(
            "pr-1",
            [a_scenario("BID-001", "passed")],
            suite="smoke",
            branch="feature/x",
            startedAt="2026-11-19T12:00:00Z",
            finishedAt="2026-11-19T12:05:00Z",
        ),
    )
    return project, runs
