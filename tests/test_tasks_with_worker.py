"""Escalation and notifications end to end: a real Celery worker on Redis, a local webhook."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.builders import a_project, a_report, a_rule, a_scenario, a_team, a_triaged_run, a_user
from tests.workers import Worker, purge_queue, wait_for
from triage.actions import defect_resolve
from triage.models import Defect, Notification, TriageSettings
from triage.tasks import escalate_defects


def later(minutes: int = 0) -> str:
    """A start after "now": a run that can show a fix did not hold."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(minutes=1 + minutes)).isoformat()


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


class FlakyWebhook(BaseHTTPRequestHandler):
    """Answers 500 to the first post, like a chat service having a bad second, then 200."""

    posts: list = []

    def do_POST(self):
        FlakyWebhook.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(500 if len(FlakyWebhook.posts) == 1 else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    FlakyWebhook.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyWebhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/triage"
    server.shutdown()


def test_a_regression_is_sent_by_email_and_webhook_retrying_a_failed_post(worker, webhook):
    project, _ = a_project()
    owner = a_user("olga", member_of=project)
    a_rule(project, a_team(project, "bidding", owner), scenario_prefix="BID")
    TriageSettings.objects.create(project=project, webhook_url=webhook)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    defect = Defect.objects.get()
    defect_resolve(defect=defect, version=defect.version, actor=owner, reason="fixed")

    a_triaged_run(project, a_report("run-2", [a_scenario("BID-001", "failed")],
                                    startedAt=later(), finishedAt=later(minutes=9)))  # fmt: skip

    sent = lambda: Notification.objects.filter(status="sent").count() == 2  # noqa: E731
    assert wait_for(sent), list(Notification.objects.values("channel", "status", "last_error"))
    webhook_row = Notification.objects.get(channel="webhook")
    assert webhook_row.attempts == 2
    assert len(FlakyWebhook.posts) == 2
    assert "Regressed: BID-001|TENANT-004" in FlakyWebhook.posts[-1]["text"]
    assert FlakyWebhook.posts[-1]["blocks"][0]["type"] == "header"
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
