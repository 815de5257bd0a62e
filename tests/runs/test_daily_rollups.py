"""The daily rollups behind the overview's trend and most failing scenarios: kept at ingest,
moved when a part joins its run, taken down by pruning, always what a count of the stored
runs says."""

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command

from runs.models import ScenarioDay, SuiteDay
from runs.rollups import rollups_recount
from tests.builders import a_project, a_report, a_scenario, a_stored_run

pytestmark = pytest.mark.django_db

NOON = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def on_day(days_ago: int, *, hour: int = 12) -> dict[str, str]:
    start = NOON.replace(hour=hour) - timedelta(days=days_ago)
    return {
        "startedAt": start.isoformat(),
        "finishedAt": (start + timedelta(minutes=5)).isoformat(),
    }


def day(days_ago: int) -> date:
    return (NOON - timedelta(days=days_ago)).date()


def rollups() -> dict[str, set[tuple]]:
    return {
        "suites": set(
            SuiteDay.objects.values_list("suite__name", "day", "runs", "passed", "executed")
        ),
        "scenarios": set(
            ScenarioDay.objects.values_list("scenario__key", "day", "failures", "last_failed_at")
        ),
    }


def part(run_id: str, name: str, scenarios: list[dict], **when: str) -> dict:
    return a_report(run_id, scenarios, suite="full", part=name, totalParts=2, **when)


def stored_history(project) -> None:
    # Two runs on one day, one failing twice over (two variants); a rerun counts as a run.
    a_stored_run(
        project,
        a_report(
            "n-1",
            [
                a_scenario("BID-001", "failed", variant={"browser": "webkit"}),
                a_scenario("BID-001", "failed", variant={"browser": "chromium"}),
                a_scenario("NOS-002", "passed"),
                a_scenario("SCH-003", "skipped"),
            ],
            suite="full",
            **on_day(3, hour=2),
        ),
    )
    a_stored_run(
        project,
        a_report(
            "n-1-rerun",
            [a_scenario("BID-001", "passed")],
            suite="full",
            rerunOf="n-1",
            **on_day(3, hour=4),
        ),
    )
    a_stored_run(
        project, a_report("s-1", [a_scenario("API-004", "error")], suite="smoke", **on_day(1))
    )


def test_runs_and_failing_results_are_counted_per_suite_and_scenario_and_day():
    project, _ = a_project()

    stored_history(project)

    assert rollups() == {
        "suites": {("full", day(3), 2, 2, 4), ("smoke", day(1), 1, 0, 1)},
        "scenarios": {
            ("BID-001", day(3), 2, NOON.replace(hour=2) - timedelta(days=3)),
            ("API-004", day(1), 1, NOON - timedelta(days=1)),
        },
    }


def test_a_part_that_started_the_day_before_moves_its_run_there():
    project, _ = a_project()
    a_stored_run(project, part("sharded-1", "1", [a_scenario("BID-001", "failed")], **on_day(2)))
    a_stored_run(
        project,
        part("sharded-1", "2", [a_scenario("BID-002", "passed")], **on_day(3, hour=23)),
    )

    assert rollups() == {
        # One run, on the day its first part started, with both parts' tests.
        "suites": {("full", day(3), 1, 1, 2)},
        # Each failing result on the day of its own part.
        "scenarios": {("BID-001", day(2), 1, NOON - timedelta(days=2))},
    }


def test_a_part_on_the_same_day_adds_its_tests_and_failures_not_a_run():
    project, _ = a_project()
    a_stored_run(project, part("sharded-1", "1", [a_scenario("BID-001", "failed")], **on_day(2)))
    a_stored_run(
        project,
        part(
            "sharded-1",
            "2",
            [a_scenario("BID-001", "failed"), a_scenario("NOS-002", "passed")],
            **on_day(2, hour=13),
        ),
    )

    assert rollups() == {
        "suites": {("full", day(2), 1, 1, 3)},
        "scenarios": {("BID-001", day(2), 2, NOON.replace(hour=13) - timedelta(days=2))},
    }


def test_pruning_takes_old_runs_out_of_the_rollups():
    project, _ = a_project()
    a_stored_run(
        project, a_report("old", [a_scenario("BID-001", "failed")], suite="full", **on_day(200))
    )
    stored_history(project)
    kept = rollups()

    call_command("prune_runs", "--older-than", "180d", "--pause", "0", stdout=io.StringIO())

    assert rollups() == {
        "suites": kept["suites"] - {("full", day(200), 1, 0, 1)},
        "scenarios": kept["scenarios"] - {("BID-001", day(200), 1, NOON - timedelta(days=200))},
    }
    pruned = rollups()
    rollups_recount(project.pk)
    assert rollups() == pruned


def test_recount_restores_the_rollups_from_the_stored_runs():
    project, _ = a_project()
    stored_history(project)
    a_stored_run(project, part("sharded-1", "1", [a_scenario("BID-001", "failed")], **on_day(2)))
    a_stored_run(
        project,
        part("sharded-1", "2", [a_scenario("BID-002", "passed")], **on_day(3, hour=23)),
    )
    kept = rollups()
    SuiteDay.objects.update(runs=7)
    ScenarioDay.objects.filter(scenario__key="API-004").delete()
    out = io.StringIO()

    call_command("recount_tallies", "--project", project.slug, stdout=out)

    assert rollups() == kept
    assert "2 suite days, 3 scenario days" in out.getvalue()
