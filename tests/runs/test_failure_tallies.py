"""The tallies behind the reason and invariant pages: kept at ingest, taken down by pruning,
always what a count of the stored failures says."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from runs.models import FailureReason, InvariantTally, ReasonTally
from runs.tallies import tallies_recount
from tests.builders import a_failure, a_project, a_report, a_scenario, a_stored_run

pytestmark = pytest.mark.django_db

OUTAGE = "upstream timed out after 30000 ms"


def days_ago(days: int) -> dict[str, str]:
    start = datetime.now(UTC) - timedelta(days=days)
    return {
        "startedAt": start.isoformat(),
        "finishedAt": (start + timedelta(minutes=5)).isoformat(),
    }


def failing(scenario_id: str, *, message: str = OUTAGE, invariant: str = "TENANT-004", **more):
    return a_scenario(
        scenario_id, "failed", failures=[a_failure(message=message, invariantId=invariant)], **more
    )


def tallies() -> dict[str, set[tuple]]:
    return {
        "reason": set(
            ReasonTally.objects.values_list(
                "reason__text", "scenario__key", "variant", "failure_count", "first_seen",
                "last_seen",
            )
        ),
        "invariant": set(
            InvariantTally.objects.values_list(
                "invariant__key", "scenario__key", "failure_count", "first_seen", "last_seen"
            )
        ),
    }  # fmt: skip


def stored_history(project):
    a_stored_run(project, a_report("n-1", [failing("BID-001"), failing("NOS-002")], **days_ago(9)))
    a_stored_run(
        project,
        a_report(
            "n-2",
            [
                failing("BID-001", variant={"browser": "webkit"}),
                failing("BID-001", variant={"browser": "chromium"}),
                failing("API-003", message="expected 1 winner, found 2", invariant="IDEMP-001"),
            ],
            **days_ago(5),
        ),
    )
    a_stored_run(project, a_report("n-3", [failing("BID-001")], **days_ago(1)))


def test_tallies_kept_at_ingest_match_a_count_of_the_stored_failures():
    project, _ = a_project()
    stored_history(project)
    kept = tallies()

    tallies_recount(project.pk)

    assert tallies() == kept
    outage = FailureReason.objects.get(text__startswith="upstream timed out")
    by_test = {
        (t.scenario.key, t.variant): t.failure_count
        for t in ReasonTally.objects.filter(reason=outage).select_related("scenario")
    }
    assert by_test == {
        ("BID-001", ""): 2,
        ("BID-001", "browser=webkit"): 1,
        ("BID-001", "browser=chromium"): 1,
        ("NOS-002", ""): 1,
    }
    tenant = InvariantTally.objects.get(invariant__key="TENANT-004", scenario__key="BID-001")
    assert tenant.failure_count == 4
    assert tenant.last_seen - tenant.first_seen > timedelta(days=7)


def test_pruning_takes_the_deleted_failures_out_of_the_tallies():
    project, _ = a_project()
    stored_history(project)

    call_command("prune_runs", "--older-than", "3d", "--pause", "0", stdout=io.StringIO())

    left = tallies()
    tallies_recount(project.pk)
    assert {row[:4] for row in tallies()["reason"]} == {row[:4] for row in left["reason"]}
    assert {row[:3] for row in left["invariant"]} == {("TENANT-004", "BID-001", 1)}


def test_reason_page_counts_every_failure_of_a_reason_across_scenarios(member, project):
    stored_history(project)
    outage = FailureReason.objects.get(project=project, text__startswith="upstream timed out")

    html = member.get(f"/p/{project.slug}/reasons/{outage.pk}/").content.decode()

    assert "<strong>5</strong> failures in\n    <strong>2</strong> scenarios" in html
    assert "browser=webkit" in html


def test_each_part_of_a_run_counts_its_failures_once_even_when_posted_again():
    project, _ = a_project()
    for browser in ("chromium", "webkit", "webkit"):
        a_stored_run(
            project,
            a_report("sharded-1", [failing("BID-001")], part=browser, variant={"browser": browser}),
        )

    counted = dict(ReasonTally.objects.values_list("variant", "failure_count").order_by("variant"))
    assert counted == {"browser=chromium": 1, "browser=webkit": 1}
    assert InvariantTally.objects.get().failure_count == 2


def test_pruning_failures_stored_around_the_tallies_never_counts_below_zero():
    project, _ = a_project()
    stored_history(project)
    # As if some failures had been stored by code older than the tallies, or restored.
    ReasonTally.objects.update(failure_count=1)

    out = io.StringIO()
    call_command("prune_runs", "--older-than", "3d", "--pause", "0", stdout=out)

    assert "Deleted 2 runs" in out.getvalue()
    # Each count met zero where it would have gone below, and the tally went.
    assert not ReasonTally.objects.exists()
    tallies_recount(project.pk)
    assert set(ReasonTally.objects.values_list("scenario__key", "variant", "failure_count")) == {
        ("BID-001", "", 1)
    }


def test_recount_tallies_restores_what_the_stored_failures_say():
    project, _ = a_project()
    stored_history(project)
    kept = tallies()
    ReasonTally.objects.update(failure_count=1)
    InvariantTally.objects.all().delete()
    out = io.StringIO()

    call_command("recount_tallies", "--project", project.slug, stdout=out)

    assert tallies() == kept
    assert "dispatch: 5 reason tallies, 3 invariant tallies" in out.getvalue()
