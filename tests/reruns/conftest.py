"""Fixtures of the rerun tests: a run with two failing scenarios, and a triager of its project."""

import pytest

from tests.builders import a_project, a_report, a_scenario, a_triaged_run, a_user


@pytest.fixture
def failing_run():
    project, token = a_project()
    user = a_user("tara", member_of=project)
    run = a_triaged_run(project, a_report("gh-1", [a_scenario("BID-001", "failed"),
                                                   a_scenario("BID-002", "failed")]))  # fmt: skip
    return project, token, user, run
