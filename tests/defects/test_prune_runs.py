"""prune_runs, as an operator runs it: old runs go, each defect's last evidence stays."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from defects.models import Defect
from runs.models import InvariantFailure, Run, ScenarioResult
from tests.builders import a_project, a_report, a_scenario, a_triaged_run


def days_ago(days: int) -> dict[str, str]:
    start = datetime.now(UTC) - timedelta(days=days)
    return {
        "startedAt": start.isoformat(),
        "finishedAt": (start + timedelta(minutes=5)).isoformat(),
    }


@pytest.mark.django_db
def test_prune_runs_deletes_old_runs_and_keeps_each_defects_last_evidence():
    project, _ = a_project()
    old_only = a_triaged_run(project, a_report("old-1", [a_scenario("BID-001", "failed")],
                                               **days_ago(300)))  # fmt: skip
    a_triaged_run(project, a_report("old-2", [a_scenario("BID-002", "failed")], **days_ago(290)))
    a_triaged_run(project, a_report("old-3", [a_scenario("BID-002", "failed")], **days_ago(250)))
    recent = a_triaged_run(project, a_report("new", [a_scenario("BID-002", "failed")],
                                             **days_ago(3)))  # fmt: skip
    out = io.StringIO()

    call_command("prune_runs", "--older-than", "180d", "--batch", "1", "--pause", "0", stdout=out)

    assert set(Run.objects.values_list("external_id", flat=True)) == {"old-1", "new"}
    assert Defect.objects.count() == 2
    assert Defect.objects.get(fingerprint="BID-001|TENANT-004").last_run == old_only
    assert InvariantFailure.objects.filter(run=old_only).exists()
    assert ScenarioResult.objects.filter(run=recent).count() == 1
    assert "Deleted 2 runs, 2 results, 2 failures" in out.getvalue()
