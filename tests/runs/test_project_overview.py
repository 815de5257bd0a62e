"""A project's overview: the nightly streak, what fails, what is flaky, charts, 30 or 90 days."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from playwright.sync_api import expect

from runs.models import Run
from tests.builders import a_report, a_scenario, a_stored_run
from tests.conftest import log_in
from tests.runs.run_builders import at, green, nightly, smoke

pytestmark = pytest.mark.django_db


def test_overview_shows_the_nightly_streak_against_the_target(member, project):
    nightly(project, 4, [a_scenario("BID-001", "failed")])
    for day in (3, 2, 1):
        nightly(project, day, green("BID-001"))

    html = member.get("/p/dispatch/").content.decode()

    assert "3 consecutive green full runs" in html
    assert "7 needed" in html
    assert "nightly-4" in html  # the last red one


def test_overview_lists_top_failing_flaky_smoke_gaps_and_diagnostics_gaps(member, project):
    nightly(project, 3, [a_scenario("BID-001", "failed"), *green("SCH-001", "NOS-001")])
    nightly(
        project,
        2,
        [
            a_scenario("BID-001", "failed"),
            a_scenario("UI-009", "error", failures=[{"message": "Timeout waiting for board"}]),
            *green("SCH-001"),
        ],
    )
    smoke(project, "pr-1", 1, [a_scenario("NOS-001", "failed"), *green("SCH-001", "API-001")])
    smoke(project, "pr-1-rerun", 0.9, green("NOS-001"), commit="9f1c2e7", rerunOf="pr-1")

    html = member.get("/p/dispatch/").content.decode()

    top = html[html.index("Top failing scenarios") : html.index("Flaky scenarios")]
    assert top.index("BID-001") < top.index("NOS-001")
    flaky = html[html.index("Flaky scenarios") : html.index("In smoke but not")]
    assert "NOS-001" in flaky and "BID-001" not in flaky
    subset = html[html.index("In smoke but not") : html.index("Diagnostics gaps")]
    assert "API-001" in subset and "SCH-001" not in subset
    gaps = html[html.index("Diagnostics gaps") :]
    assert "UI-009" in gaps and "Timeout waiting for board" in gaps


def test_overview_charts_link_points_to_runs_and_mark_over_budget_runs(member, project):
    slow = smoke(project, "pr-slow", 1, green("BID-001"))
    Run.objects.filter(pk=slow.pk).update(duration_ms=14 * 60_000)

    html = member.get("/p/dispatch/").content.decode()

    assert f'href="/p/dispatch/runs/{slow.pk}/"' in html
    assert "<svg" in html
    assert "1 of the last 1 runs over" in html
    assert "cdn" not in html.lower()


def test_overview_numbers_list_each_day_and_run_with_its_duration(member, project):
    nightly(project, 3, [a_scenario("BID-001", "failed"), *green("SCH-001", "NOS-001")])
    hostile = nightly(project, 2, green("BID-001"), id='n-2"><script>alert(1)</script>')
    Run.objects.filter(pk=hostile.pk).update(duration_ms=40 * 60_000)
    # A day whose only run skipped everything executed nothing: no pass rate to give.
    nightly(project, 1, [a_scenario("BID-001", "skipped")])

    html = member.get("/p/dispatch/").content.decode()
    numbers = html[html.index("<summary>Numbers</summary>") : html.index("</details>")]

    day_cells = re.findall(r'<td class="num">([^<]*)</td>', numbers)
    assert day_cells[:4] == ["1", "2", "3", "66.7%"]  # day 3: runs, passed, executed, rate
    assert day_cells[4:8] == ["1", "1", "1", "100.0%"]
    assert day_cells[8:12] == ["1", "0", "0", "—"]
    assert f'href="/p/dispatch/runs/{hostile.pk}/">n-2&quot;&gt;&lt;script&gt;' in numbers
    assert "<script>alert" not in html
    assert '<td class="num over-budget">40m 00s</td>' in numbers


def test_a_run_a_microsecond_before_midnight_counts_on_its_own_day(member, project):
    day = (datetime.now(UTC) - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    late = day - timedelta(microseconds=1)
    for name, start in (("late", late), ("midnight", day)):
        a_stored_run(project, a_report(name, green("BID-001"), suite="full", **started(start)))

    html = member.get("/p/dispatch/").content.decode()
    numbers = html[html.index("<summary>Numbers</summary>") : html.index("</details>")]

    days = re.findall(r'<tr><td>([0-9-]+)</td><td class="num">(\d+)</td>', numbers)
    assert days == [(f"{late:%Y-%m-%d}", "1"), (f"{day:%Y-%m-%d}", "1")]
    assert f'datetime="{late:%Y-%m-%dT%H:%M:%S.%f}Z"' in numbers
    assert f'datetime="{day:%Y-%m-%dT%H:%M:%S}Z"' in numbers


def started(at: datetime) -> dict[str, str]:
    return {"startedAt": at.isoformat(), "finishedAt": (at + timedelta(minutes=5)).isoformat()}


def test_smoke_is_compared_with_full_as_run_on_the_default_branch_not_a_pull_request(
    member, project
):
    nightly(project, 3, green("SCH-001", "BID-001"))
    smoke(project, "main-smoke", 2, green("SCH-001", "NOS-001"), branch="main")
    # Later, but a pull request's: it may add a scenario on purpose.
    smoke(project, "pr-new", 1, green("SCH-001", "NEW-001"))

    html = member.get("/p/dispatch/").content.decode()

    subset = html[html.index("In smoke but not") : html.index("Diagnostics gaps")]
    assert "main-smoke" in subset and "pr-new" not in subset
    assert "NOS-001" in subset and "NEW-001" not in subset


def test_overview_switches_to_90_days_as_a_fragment_for_htmx(member, project):
    nightly(project, 60, green("BID-001"))
    response = member.get("/p/dispatch/?days=90", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="overview-body"')
    assert "<html" not in html


def test_overview_query_count_does_not_grow_with_history(member, project):
    nightly(project, 1, [a_scenario("BID-001", "failed")])
    smoke(project, "pr-0", 1, green("BID-001"))
    with CaptureQueriesContext(connection) as few:
        member.get("/p/dispatch/")
    for day in range(2, 12):
        nightly(project, day, [a_scenario("BID-001", "failed"), a_scenario("UI-001", "error")])
        smoke(project, f"pr-{day}", day, [a_scenario(f"API-{day:03d}", "failed")])
    with CaptureQueriesContext(connection) as many:
        member.get("/p/dispatch/")
    assert len(many) == len(few) <= 15


def test_the_streak_counts_nights_and_a_missed_night_breaks_it(member, project):
    nightly(project, 5, green("BID-001"))
    nightly(project, 3, green("BID-001"))
    nightly(project, 2, green("BID-001"))
    a_stored_run(project, a_report("nightly-2b", green("BID-001"), suite="full", branch="main",
                                   **at(2, hour=4)))  # fmt: skip
    nightly(project, 1, green("BID-001"))

    html = member.get("/p/dispatch/").content.decode()

    assert "3 consecutive green full runs" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_overview_window_toggle_swaps_in_place(live_server, page, history):
    log_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/p/dispatch/")
    page.evaluate("window.__same_document = true")

    page.click("text=90 days")

    expect(page).to_have_url(re.compile(r"days=90"))
    expect(page.locator(".toggle a.active")).to_have_text("90 days")
    assert page.evaluate("window.__same_document") is True
