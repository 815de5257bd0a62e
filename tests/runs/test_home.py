"""The home page: each project's latest run per suite and its open failures."""

import pytest

from tests.builders import a_report, a_scenario, a_stored_run
from tests.runs.run_builders import at, green, nightly, smoke

pytestmark = pytest.mark.django_db


def test_home_shows_the_latest_run_per_suite_and_open_failures(member, project):
    nightly(project, 2, green("BID-001"))
    nightly(project, 1, [a_scenario("BID-001", "failed"), a_scenario("BID-002", "error")])
    smoke(project, "pr-7", 1, green("BID-001"))

    html = member.get("/").content.decode()

    assert "nightly-1" in html and "nightly-2" not in html
    assert "pr-7" in html
    assert "2 open failures" in html


def test_a_small_rerun_does_not_hide_the_suites_open_failures(member, project):
    nightly(project, 1, [a_scenario("BID-001", "failed"), a_scenario("BID-002", "failed")])
    a_stored_run(project, a_report("nightly-1-rerun", green("BID-001"), suite="full",
                                   branch="main", rerunOf="nightly-1", **at(0.5)))  # fmt: skip
    assert "2 open failures" in member.get("/").content.decode()
