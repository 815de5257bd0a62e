"""Escalation: a defect still unclassified after the project's deadline is escalated once."""

from datetime import UTC, datetime, timedelta

import pytest

from defects.escalation import defects_escalate_unclassified
from defects.models import Defect, TriageSettings
from defects.periodic import escalate_defects
from tests.builders import a_project, a_report, a_scenario, a_triaged_run, ago, defect_of
from tests.workers import wait_for

pytestmark = pytest.mark.django_db


def test_unclassified_defects_escalate_once_after_the_project_deadline(project):
    TriageSettings.objects.create(project=project, escalate_after_minutes=30)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed"),
                                              a_scenario("BID-002", "failed")]))  # fmt: skip
    first_seen = defect_of(project, "BID-001|TENANT-004").created_at
    classified = defect_of(project, "BID-002|TENANT-004")
    Defect.objects.filter(pk=classified.pk).update(defect_class="algorithm")

    assert defects_escalate_unclassified(now=first_seen + timedelta(minutes=29)) == []
    escalated = defects_escalate_unclassified(now=first_seen + timedelta(minutes=31))
    again = defects_escalate_unclassified(now=first_seen + timedelta(minutes=90))

    assert [d.fingerprint for d in escalated] == ["BID-001|TENANT-004"]
    assert again == []
    leak = defect_of(project, "BID-001|TENANT-004")
    assert leak.escalated_at is not None
    assert leak.events.filter(kind="escalation", text__contains="30 minutes").exists()


def test_escalation_uses_twenty_minutes_by_default(project):
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    first_seen = defect_of(project, "BID-001|TENANT-004").created_at
    assert defects_escalate_unclassified(now=first_seen + timedelta(minutes=19)) == []
    assert len(defects_escalate_unclassified(now=first_seen + timedelta(minutes=21))) == 1
    leak = defect_of(project, "BID-001|TENANT-004")
    assert leak.escalated_at == first_seen + timedelta(minutes=21)
    assert leak.events.filter(kind="escalation", text__contains="20 minutes").exists()


def test_a_late_reported_nightly_still_gets_its_twenty_minutes(project):
    a_triaged_run(project, a_report("nightly", [a_scenario("BID-001", "failed")], **ago(35)))
    assert defects_escalate_unclassified(now=datetime.now(UTC) + timedelta(minutes=1)) == []
    later = datetime.now(UTC) + timedelta(minutes=21)
    assert len(defects_escalate_unclassified(now=later)) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_periodic_escalation_runs_on_the_worker(worker):
    project, _ = a_project()
    TriageSettings.objects.create(project=project, escalate_after_minutes=5)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    Defect.objects.update(created_at="2026-01-01T00:00:00Z")

    escalate_defects.delay()

    assert wait_for(lambda: Defect.objects.filter(escalated_at__isnull=False).exists())
    assert Defect.objects.get().events.filter(kind="escalation").count() == 1
