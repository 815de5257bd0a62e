"""A run posted in parts (shards, browsers, one file per class) is one run."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from defects.grouping import defects_record_run
from defects.models import Defect
from runs.models import Run, ScenarioResult
from tests.api.posting import post_json, post_xml
from tests.builders import a_report, a_scenario

pytestmark = pytest.mark.django_db
SUREFIRE = Path(__file__).parent.parent / "fixtures" / "junit" / "surefire-reruns"


def shard(name, scenarios, **run):
    return a_report("gh-77-1", scenarios, part=name, **run)


def test_parts_of_one_run_id_merge_into_one_run(client, token):
    first = post_json(
        client,
        token,
        shard(
            "shard-1",
            [
                a_scenario("BID-001", "failed"),
                a_scenario("BID-002", "passed"),
            ],
            totalParts=2,
            startedAt="2026-11-20T02:00:00Z",
            finishedAt="2026-11-20T02:05:00Z",
        ),
    )
    second = post_json(
        client,
        token,
        shard(
            "shard-2",
            [
                a_scenario("SCH-001", "passed"),
                a_scenario("SCH-002", "skipped"),
            ],
            totalParts=2,
            startedAt="2026-11-20T01:58:00Z",
            finishedAt="2026-11-20T02:10:00Z",
        ),
    )

    assert first.status_code == 201 and second.status_code == 201, second.content
    assert first.json()["parts"] == {"received": 1, "expected": 2, "names": ["shard-1"]}
    summary = second.json()
    assert summary["id"] == first.json()["id"]
    assert summary["parts"] == {"received": 2, "expected": 2, "names": ["shard-1", "shard-2"]}
    assert summary["counts"] | {"diagnosticsGaps": 0} == {
        "passed": 2, "failed": 1, "skipped": 1, "error": 0, "diagnosticsGaps": 0, "flaky": 0,
    }  # fmt: skip
    assert summary["status"] == "failed"
    run = Run.objects.get()
    assert run.started_at == datetime(2026, 11, 20, 1, 58, tzinfo=UTC)
    assert run.finished_at == datetime(2026, 11, 20, 2, 10, tzinfo=UTC)
    assert summary["durationMs"] == 12 * 60 * 1000


def test_the_same_part_again_is_idempotent_and_a_changed_part_conflicts(client, token):
    part = shard("shard-1", [a_scenario("BID-001", "failed")])
    assert post_json(client, token, part).status_code == 201
    assert post_json(client, token, shard("shard-2", [a_scenario("BID-002")])).status_code == 201

    again = post_json(client, token, part)
    changed = post_json(client, token, shard("shard-1", [a_scenario("BID-001", "passed")]))

    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["counts"]["failed"] == 1 and again.json()["parts"]["received"] == 2
    assert changed.status_code == 409
    assert "part 'shard-1'" in changed.json()["error"]
    assert ScenarioResult.objects.count() == 2


def test_a_run_posted_whole_takes_no_parts_and_a_run_in_parts_needs_one(client, token):
    assert post_json(client, token, a_report("whole-1")).status_code == 201
    assert post_json(client, token, shard("shard-1", [a_scenario("BID-001")])).status_code == 201

    part_of_whole = post_json(client, token, a_report("whole-1", part="shard-9"))
    whole_of_parts = post_json(client, token, a_report("gh-77-1", [a_scenario("BID-001")]))

    assert part_of_whole.status_code == 409
    assert "received whole" in part_of_whole.json()["error"]
    assert whole_of_parts.status_code == 409
    assert "arrives in parts" in whole_of_parts.json()["error"]


def test_a_part_of_another_commit_is_refused_naming_the_field(client, token):
    assert post_json(client, token, shard("shard-1", [a_scenario("BID-001")])).status_code == 201

    other = post_json(client, token, shard("shard-2", [a_scenario("BID-002")], commit="abc1234"))

    assert other.status_code == 409
    assert "run.commit" in other.json()["error"]
    assert Run.objects.get().parts_received == 1


def test_a_shard_ci_ran_again_counts_as_a_retry_of_its_tests(client, token):
    post_json(client, token, shard("shard-1", [a_scenario("BID-001", "failed")]))
    again = post_json(client, token, shard("shard-1-retry", [a_scenario("BID-001", "passed")]))

    assert again.status_code == 201
    assert again.json()["counts"]["flaky"] == 1
    attempts = ScenarioResult.objects.order_by("position").values_list("attempt", "status")
    assert list(attempts) == [(1, "failed"), (2, "passed")]


def test_a_maven_folder_posted_file_by_file_is_one_run(client, token):
    files = sorted(SUREFIRE.glob("*.xml"))
    answers = [
        post_xml(
            client, token, path.read_bytes(),
            f"runId=maven-7&suite=full&part={path.name}&totalParts={len(files)}",
        )
        for path in files
    ]  # fmt: skip

    assert [a.status_code for a in answers] == [201] * 5, answers[-1].content
    summary = answers[-1].json()
    # Read from the files: ErrorTest errors 16 times (1 + 15 reruns), FailingTest fails 16
    # times, FlakyErrorTest and FlakyTest fail once then pass, PassingTest passes.
    assert summary["counts"] | {"diagnosticsGaps": 0} == {
        "passed": 3, "failed": 17, "skipped": 0, "error": 17, "diagnosticsGaps": 0, "flaky": 2,
    }  # fmt: skip
    assert summary["parts"]["received"] == summary["parts"]["expected"] == 5
    assert Run.objects.count() == 1
    again = post_xml(
        client, token, files[0].read_bytes(), f"runId=maven-7&suite=full&part={files[0].name}"
    )
    assert again.status_code == 200


def test_defects_wait_until_every_expected_part_has_arrived(client, token):
    post_json(client, token, shard("shard-1", [a_scenario("BID-001", "failed")], totalParts=2))
    assert not Defect.objects.exists()

    post_json(client, token, shard("shard-2", [a_scenario("BID-002", "failed")], totalParts=2))

    assert sorted(Defect.objects.values_list("scenario__key", flat=True)) == ["BID-001", "BID-002"]


def test_without_a_total_defects_wait_for_the_settle_time_after_the_last_part(
    client, token, settings
):
    settings.RUN_PARTS_SETTLE_SECONDS = 600
    post_json(client, token, shard("shard-1", [a_scenario("BID-001", "failed")]))
    run = Run.objects.get()
    assert not Defect.objects.exists()

    defects_record_run(run=run, now=run.last_part_at + timedelta(seconds=599))
    assert not Defect.objects.exists()
    defects_record_run(run=run, now=run.last_part_at + timedelta(seconds=600))
    assert Defect.objects.get().scenario.key == "BID-001"

    late = post_json(client, token, shard("shard-2", [a_scenario("BID-002", "failed")]))
    assert late.status_code == 201
    # The run is whole already: a late part's failures are grouped as it arrives.
    assert Defect.objects.count() == 2
    assert Defect.objects.get(scenario__key="BID-001").occurrence_count == 1
