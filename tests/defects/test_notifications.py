"""Notifications: an owner hears of a regression by email and webhook, sent by a real worker
with a failed post retried; a notification a dead worker claimed is sent again."""

from datetime import UTC, datetime, timedelta

import pytest

from defects.actions import defect_resolve
from defects.grouping import defect_path
from defects.models import Defect, Notification, TriageSettings
from defects.notifications import digest_queue
from defects.periodic import sweep_defects
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
from tests.workers import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook():
    """A chat service having a bad second: 500 to the first post, then 200."""
    receiver = Receiver(statuses=(500, 200))
    yield receiver
    receiver.close()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
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
    text = webhook.deliveries[-1]["body"]["text"]
    assert "Run run-2: 1 regressed" in text and "BID-001 / TENANT-004 (Regressed)" in text
    assert webhook.deliveries[-1]["body"]["blocks"][0]["type"] == "header"
    mail = "".join(path.read_text() for path in worker.iterdir())
    assert "olga@example.test" in mail and "Run run-2: 1 regressed" in mail


def test_a_notification_claimed_by_a_dead_worker_is_sent_again(project):
    owner = a_user("olga", member_of=project)
    a_rule(project, a_team(project, "t", owner), scenario_prefix="BID")
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    [row] = digest_queue(
        project=project, subject="s", defects=[Defect.objects.get()], link=defect_path
    )
    Notification.objects.filter(pk=row.pk).update(
        status="sending", claimed_at=datetime.now(UTC) - timedelta(minutes=10)
    )
    sweep_defects()
    assert Notification.objects.get(pk=row.pk).status == "pending"
