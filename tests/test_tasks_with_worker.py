"""Escalation and notifications end to end: a real Celery worker on Redis, a local webhook."""

import pytest

from defects.actions import defect_resolve
from defects.models import Defect, Notification, TriageSettings
from defects.periodic import escalate_defects
from tests.builders import (
    a_project,
    a_report,
    a_rule,
    a_scenario,
    a_team,
    a_triaged_run,
    a_user,
    later,
)
from tests.ci_standins import Receiver
from tests.workers import Worker, purge_queue, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A Celery worker process whose mail goes to files the test can read."""
    purge_queue()
    process = Worker(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
    )
    yield tmp_path / "mail"
    process.stop()


@pytest.fixture
def webhook():
    """A chat service having a bad second: 500 to the first post, then 200."""
    receiver = Receiver(statuses=(500, 200))
    yield receiver
    receiver.close()


def test_a_regression_is_sent_by_email_and_webhook_retrying_a_failed_post(worker, webhook):
    project, _ = a_project()
    owner = a_user("olga", member_of=project)
    a_rule(project, a_team(project, "bidding", owner), scenario_prefix="BID")
    TriageSettings.objects.create(project=project, webhook_url=webhook.url + "/hooks/triage")
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    defect = Defect.objects.get()
    defect_resolve(defect=defect, version=defect.version, actor=owner, reason="fixed")

    a_triaged_run(project, a_report("run-2", [a_scenario("BID-001", "failed")],
                                    startedAt=later(), finishedAt=later(minutes=9)))  # fmt: skip

    sent = lambda: Notification.objects.filter(status="sent").count() == 2  # noqa: E731
    assert wait_for(sent), list(Notification.objects.values("channel", "status", "last_error"))
    webhook_row = Notification.objects.get(channel="webhook")
    assert webhook_row.attempts == 2
    assert len(webhook.deliveries) == 2
    assert "Regressed: BID-001|TENANT-004" in webhook.deliveries[-1]["body"]["text"]
    assert webhook.deliveries[-1]["body"]["blocks"][0]["type"] == "header"
    mail = "".join(path.read_text() for path in worker.iterdir())
    assert "olga@example.test" in mail and "Regressed: BID-001|TENANT-004" in mail


def test_the_periodic_escalation_runs_on_the_worker(worker):
    project, _ = a_project()
    TriageSettings.objects.create(project=project, escalate_after_minutes=5)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    Defect.objects.update(created_at="2026-01-01T00:00:00Z")

    escalate_defects.delay()

    assert wait_for(lambda: Defect.objects.filter(escalated_at__isnull=False).exists())
    assert Defect.objects.get().events.filter(kind="escalation").count() == 1
