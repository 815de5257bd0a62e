"""Comparing a run with the one before: newly failing, still failing, newly passing."""

import pytest

from tests.builders import a_scenario
from tests.runs.run_builders import green, nightly

pytestmark = pytest.mark.django_db


def test_compare_splits_newly_failing_still_failing_and_newly_passing(member, project):
    nightly(project, 2, [a_scenario("BID-001", "failed"), a_scenario("BID-002", "failed"),
                         *green("BID-003")])  # fmt: skip
    run = nightly(project, 1, [a_scenario("BID-001", "failed"), a_scenario("BID-003", "failed"),
                               *green("BID-002")])  # fmt: skip

    html = member.get(f"/p/dispatch/runs/{run.pk}/compare/").content.decode()

    def section(title: str) -> str:
        start = html.index(title)
        return html[start : html.index("</section>", start)]

    assert "BID-003" in section("Newly failing") and "BID-001" not in section("Newly failing")
    assert "BID-001" in section("Still failing")
    assert "BID-002" in section("Newly passing")
    assert "nightly-2" in html


def test_compare_judges_each_scenario_by_its_last_attempt_and_lists_skips(member, project):
    nightly(project, 2, [a_scenario("BID-001", "failed"), a_scenario("BID-002", "failed")])
    run = nightly(project, 1, [
        a_scenario("BID-001", "failed", attempt=1), a_scenario("BID-001", "passed", attempt=2),
        a_scenario("BID-002", "skipped"),
        a_scenario("BID-003", "failed", attempt=1), a_scenario("BID-003", "failed", attempt=2),
    ])  # fmt: skip

    html = member.get(f"/p/dispatch/runs/{run.pk}/compare/").content.decode()

    assert 'Newly failing <span class="muted">1</span>' in html
    assert 'Still failing <span class="muted">0</span>' in html
    assert 'Newly passing <span class="muted">1</span>' in html
    assert "skipped now" in html and "BID-002" in html


def test_compare_tells_a_new_failure_in_one_browser_from_one_failing_everywhere(member, project):
    nightly(project, 2, [
        a_scenario("UI-009", "failed", variant={"browser": "chromium"}),
        a_scenario("UI-009", "passed", variant={"browser": "webkit"}),
    ])  # fmt: skip
    run = nightly(project, 1, [
        a_scenario("UI-009", "failed", variant={"browser": "chromium"}),
        a_scenario("UI-009", "failed", variant={"browser": "webkit"}),
    ])  # fmt: skip

    html = member.get(f"/p/dispatch/runs/{run.pk}/compare/").content.decode()

    def section(title: str) -> str:
        start = html.index(title)
        return html[start : html.index("</section>", start)]

    assert "browser=webkit" in section("Newly failing")
    assert "browser=chromium" not in section("Newly failing")
    assert "browser=chromium" in section("Still failing")


def test_a_run_page_links_to_the_comparison_only_when_an_earlier_run_of_its_suite_exists(
    member, project
):
    first = nightly(project, 2, green("BID-001"))
    second = nightly(project, 1, green("BID-001"))
    link = "Compare with the previous full run"

    assert link not in member.get(f"/p/dispatch/runs/{first.pk}/").content.decode()
    assert link in member.get(f"/p/dispatch/runs/{second.pk}/").content.decode()
