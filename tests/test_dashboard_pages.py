"""The dashboard pages answer: is main healthy, what broke, since when, is it flaky, where."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs.models import Run
from tests.builders import a_failure, a_project, a_report, a_scenario, a_stored_run, a_user

pytestmark = pytest.mark.django_db


def at(days_ago: float, hour: int = 2) -> dict[str, str]:
    start = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(
        days=days_ago
    )
    return {
        "startedAt": start.isoformat(),
        "finishedAt": (start + timedelta(minutes=30)).isoformat(),
    }


def nightly(project, day: int, scenarios: list[dict], **run) -> Run:
    return a_stored_run(
        project,
        a_report(
            f"nightly-{day}", scenarios, suite="full", branch="main", commit=f"c{day:04d}",
            trigger="schedule", **at(day), **run,
        ),
    )  # fmt: skip


def smoke(project, name: str, days_ago: float, scenarios: list[dict], **run) -> Run:
    return a_stored_run(
        project,
        a_report(
            name, scenarios, suite="smoke", branch=f"feature/{name}", **at(days_ago, 12), **run
        ),
    )


@pytest.fixture
def project(project_and_token):
    return project_and_token[0]


@pytest.fixture
def member(client, project):
    client.force_login(a_user("dana", member_of=project))
    return client


def green(*ids: str) -> list[dict]:
    return [a_scenario(scenario_id, "passed") for scenario_id in ids]


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


def test_overview_switches_to_90_days_as_a_fragment_for_htmx(member, project):
    nightly(project, 60, green("BID-001"))
    response = member.get("/p/dispatch/?days=90", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="overview-body"')
    assert "<html" not in html


def test_overview_query_count_does_not_grow_with_history(member, project):
    nightly(project, 1, green("BID-001"))
    smoke(project, "pr-0", 1, green("BID-001"))
    with CaptureQueriesContext(connection) as few:
        member.get("/p/dispatch/")
    for day in range(2, 12):
        nightly(project, day, [a_scenario("BID-001", "failed"), a_scenario("UI-001", "error")])
        smoke(project, f"pr-{day}", day, [a_scenario(f"API-{day:03d}", "failed")])
    with CaptureQueriesContext(connection) as many:
        member.get("/p/dispatch/")
    assert len(many) == len(few) <= 15


def test_home_shows_the_latest_run_per_suite_and_open_failures(member, project):
    nightly(project, 2, green("BID-001"))
    nightly(project, 1, [a_scenario("BID-001", "failed"), a_scenario("BID-002", "error")])
    smoke(project, "pr-7", 1, green("BID-001"))

    html = member.get("/").content.decode()

    assert "nightly-1" in html and "nightly-2" not in html
    assert "pr-7" in html
    assert "2 open failures" in html


def test_run_list_filters_by_suite_branch_status_dates_and_text(member, project):
    nightly(project, 5, green("BID-001"))
    nightly(project, 1, [a_scenario("BID-001", "failed")])
    smoke(project, "pr-42", 3, green("BID-001"))

    def listed(query: str) -> set[str]:
        html = member.get(f"/p/dispatch/runs/?{query}").content.decode()
        return {name for name in ("nightly-5", "nightly-1", "pr-42") if f">{name}<" in html}

    assert listed("") == {"nightly-5", "nightly-1", "pr-42"}
    assert listed("suite=smoke") == {"pr-42"}
    assert listed("branch=main") == {"nightly-5", "nightly-1"}
    assert listed("status=failed") == {"nightly-1"}
    since = (datetime.now(UTC) - timedelta(days=4)).date()
    assert listed(f"since={since}") == {"nightly-1", "pr-42"}
    assert listed(f"until={since}") == {"nightly-5"}
    assert listed("q=pr-4") == {"pr-42"}
    assert listed("status=exploded") == {"nightly-5", "nightly-1", "pr-42"}


def test_run_list_answers_htmx_with_the_table_only(member, project):
    nightly(project, 1, green("BID-001"))
    fragment = member.get("/p/dispatch/runs/?suite=full", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="run-table"')
    assert "nightly-1" in fragment
    restore = member.get(
        "/p/dispatch/runs/?suite=full",
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    ).content.decode()
    assert "<html" in restore


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


def test_scenario_page_shows_strip_flake_verdict_and_regression_window(member, project):
    nightly(project, 4, green("BID-001"))
    last_green = nightly(project, 3, green("BID-001"))
    first_red = nightly(project, 2, [a_scenario("BID-001", "failed")])
    nightly(project, 1, [a_scenario("BID-001", "failed")])
    smoke(project, "pr-9", 1, [a_scenario("BID-001", "failed")], commit="feed1")
    smoke(project, "pr-9-again", 0.9, green("BID-001"), commit="feed1")

    html = member.get("/p/dispatch/scenarios/BID-001/").content.decode()

    assert html.count('class="cell status-') == 6
    assert f'href="/p/dispatch/runs/{first_red.pk}/#result-' in html
    assert "Flaky:" in html and "feed1" in html
    assert "c0003..c0002" in html
    assert f"?base={last_green.pk}" in html
    assert "TENANT-004" in html


def test_invariant_page_shows_every_scenario_that_violated_it(member, project):
    nightly(project, 2, [a_scenario("BID-001", "failed"), a_scenario("NOS-004", "failed")])
    other_invariant = [a_failure(invariantId="IDEMP-1")]
    nightly(project, 1, [a_scenario("BID-001", "failed"),
                         a_scenario("API-002", "failed", failures=other_invariant)])  # fmt: skip

    html = member.get("/p/dispatch/invariants/TENANT-004/").content.decode()

    assert "2</strong> scenarios in" in html
    assert "BID, NOS" in html
    assert "API-002" not in html


def test_search_finds_failures_by_any_key_entity_id_value(member, project):
    nightly(project, 1, [a_scenario("BID-001", "failed", failures=[
        a_failure(keyEntityIds={"orgId": "org-a", "assignmentId": "asg-311"})])])  # fmt: skip
    other, _ = a_project("billing", "Billing")
    a_stored_run(other, a_report("theirs", [a_scenario("PAY-001", "failed", failures=[
        a_failure(keyEntityIds={"assignmentId": "asg-311"})])]))  # fmt: skip

    html = member.get("/p/dispatch/search/?q=asg-311").content.decode()

    assert "BID-001" in html and "assignmentId" in html
    assert "PAY-001" not in html
    assert "TENANT-004" in member.get("/p/dispatch/search/?q=tenant").content.decode()
    assert "BID-001" in member.get("/p/dispatch/search/?q=bid-0").content.decode()
    assert "Nothing matches" in member.get("/p/dispatch/search/?q=asg-3").content.decode()


@pytest.mark.parametrize(
    "path",
    ["/", "/p/dispatch/", "/p/dispatch/runs/", "/p/dispatch/runs/{run}/",
     "/p/dispatch/runs/{run}/compare/", "/p/dispatch/scenarios/BID-001/",
     "/p/dispatch/invariants/TENANT-004/", "/p/dispatch/search/?q=bw-17"],
)  # fmt: skip
def test_page_queries_do_not_grow_with_runs_or_failures(member, project, path):
    nightly(project, 30, [a_scenario("BID-001", "failed")])
    run = nightly(project, 29, [a_scenario("BID-001", "failed")])
    url = path.format(run=run.pk)
    with CaptureQueriesContext(connection) as few:
        assert member.get(url).status_code == 200
    for day in range(1, 15):
        nightly(project, day, [a_scenario(f"BID-{n:03d}", "failed") for n in range(1, 6)])
    with CaptureQueriesContext(connection) as many:
        member.get(url)
    assert len(many) == len(few) <= 15


def test_repro_line_is_built_from_the_project_template_only_for_safe_ids(member, project):
    project.repro_command = 'pnpm exec vitest --run -t "{scenarioId}"'
    project.save()
    run = nightly(project, 1, [a_scenario("BID-001", "failed"),
                               a_scenario('X-1"; rm -rf ~; "', "failed")])  # fmt: skip

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert "pnpm exec vitest --run -t &quot;BID-001&quot;" in html
    assert html.count('data-copy="') == 1


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


def test_the_streak_counts_nights_and_a_missed_night_breaks_it(member, project):
    nightly(project, 5, green("BID-001"))
    nightly(project, 3, green("BID-001"))
    nightly(project, 2, green("BID-001"))
    a_stored_run(project, a_report("nightly-2b", green("BID-001"), suite="full", branch="main",
                                   **at(2, hour=4)))  # fmt: skip
    nightly(project, 1, green("BID-001"))

    html = member.get("/p/dispatch/").content.decode()

    assert "3 consecutive green full runs" in html


def test_a_skipped_latest_result_is_not_called_passing(member, project):
    nightly(project, 2, [a_scenario("BID-001", "failed")])
    nightly(project, 1, [a_scenario("BID-001", "skipped")])
    html = member.get("/p/dispatch/scenarios/BID-001/").content.decode()
    assert "Passing on" not in html
    assert "Failing on" in html


def test_a_small_rerun_does_not_hide_the_suites_open_failures(member, project):
    nightly(project, 1, [a_scenario("BID-001", "failed"), a_scenario("BID-002", "failed")])
    a_stored_run(project, a_report("nightly-1-rerun", green("BID-001"), suite="full",
                                   branch="main", rerunOf="nightly-1", **at(0.5)))  # fmt: skip
    assert "2 open failures" in member.get("/").content.decode()


def test_any_org_named_column_with_a_foreign_org_is_highlighted(member, project):
    evidence = [{"label": "rows", "rows": [{"recipient_org_id": "org-b", "driverTenantId": "org-a",
                                            "note": "org-b"}]}]  # fmt: skip
    run = nightly(project, 1, [a_scenario("BID-001", "failed",
                                          failures=[a_failure(evidence=evidence)])])  # fmt: skip
    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()
    assert html.count('foreign-org"') == 1


def test_an_end_date_at_the_end_of_time_is_no_error(member, project):
    nightly(project, 1, green("BID-001"))
    response = member.get("/p/dispatch/runs/?until=9999-12-31")
    assert response.status_code == 200
    assert "nightly-1" in response.content.decode()


def test_no_repro_line_for_ids_with_spaces_or_quotes(member, project):
    project.repro_command = "pnpm exec vitest --run -t {scenarioId}"
    project.save()
    run = nightly(project, 1, [a_scenario("BID-001 --config=/tmp/evil.ts", "failed")])
    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()
    assert "data-copy=" not in html
