"""What operators rely on: health, metrics, JSON logs, pruning, and the uploader CI runs."""

import io
import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from defects.models import Defect
from runs.models import InvariantFailure, Run, ScenarioResult
from tests.builders import a_project, a_report, a_scenario, a_triaged_run, report_bytes
from tests.ci_standins import Receiver
from tests.http import post

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "junit"


def days_ago(days: int) -> dict[str, str]:
    start = datetime.now(UTC) - timedelta(days=days)
    return {
        "startedAt": start.isoformat(),
        "finishedAt": (start + timedelta(minutes=5)).isoformat(),
    }


@pytest.mark.django_db
def test_healthz_checks_the_database_and_the_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "problems": []}


@pytest.mark.django_db(transaction=True)
def test_metrics_count_reports_by_outcome_and_time_ingest(live_server, client):
    _, token = a_project("dispatch", "Dispatch")
    url = f"{live_server.url}/api/v1/projects/dispatch/runs"
    before = client.get("/metrics").content.decode()
    post(url, report_bytes(a_report("m-1")), token=token)
    post(url, report_bytes(a_report("m-1")), token=token)
    post(url, b"{", token=token)
    post(url, report_bytes(a_report("m-2")), token="wrong")

    after = client.get("/metrics").content.decode()

    def value(text: str, line: str) -> float:
        found = [row for row in text.splitlines() if row.startswith(line + " ")]
        return float(found[0].split()[-1]) if found else 0.0

    for series, grew in (
        ('triage_reports_total{outcome="accepted",reason=""}', 1),
        ('triage_reports_total{outcome="replayed",reason=""}', 1),
        ('triage_reports_total{outcome="refused",reason="malformed JSON"}', 1),
        ('triage_reports_total{outcome="refused",reason="401"}', 1),
        ("triage_ingest_seconds_count", 1),
    ):
        assert value(after, series) - value(before, series) == grew, series
    assert "triage_rerun_queue_depth 0.0" in after
    assert 'triage_reruns{state="dispatched"}' in after


@pytest.mark.django_db
def test_metrics_can_require_a_token(client):
    with override_settings(METRICS_TOKEN="scrape-me"):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200


@pytest.mark.django_db
def test_requests_are_logged_as_one_json_line_each(client, capsys):
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    formatter = settings.LOGGING["formatters"]["json"]
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter(formatter["fmt"], rename_fields=formatter["rename_fields"]))
    logger = logging.getLogger("triage.request")
    logger.addHandler(handler)
    try:
        client.get("/healthz")
    finally:
        logger.removeHandler(handler)
    [line] = handler.stream.getvalue().splitlines()
    entry = json.loads(line)
    assert (entry["method"], entry["path"], entry["status"], entry["level"]) == (
        "GET", "/healthz", 200, "INFO",
    )  # fmt: skip
    assert entry["duration_ms"] >= 0


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


@pytest.fixture
def upload(live_server, tmp_path):
    def run(*args: str, token: str | None = None, url: str | None = None):
        env = {"PATH": "/usr/bin:/bin", "TRIAGE_TOKEN": token or ""}
        return subprocess.run(
            [sys.executable, str(ROOT / "triage_upload.py"), "--url", url or live_server.url,
             "--project", "dispatch", "--retry-pause", "0.05", *args],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip

    return run


@pytest.mark.django_db(transaction=True)
def test_the_uploader_posts_json_and_a_folder_of_junit_files(upload, tmp_path):
    _, token = a_project("dispatch", "Dispatch")
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report("up-1")))
    folder = tmp_path / "junit"
    folder.mkdir()
    for runner in ("pytest", "vitest"):
        (folder / f"{runner}.xml").write_bytes((FIXTURES / f"{runner}.xml").read_bytes())

    single = upload(str(report), token=token)
    many = upload(str(folder), "--run-id", "gh-9-1", "--suite", "smoke", token=token)

    assert single.returncode == 0, single.stderr
    assert single.stdout.strip().endswith(
        f"/p/dispatch/runs/{Run.objects.get(external_id='up-1').pk}/"
    )
    assert many.returncode == 0, many.stderr
    assert len(many.stdout.split()) == 2
    assert set(Run.objects.values_list("external_id", flat=True)) == {
        "up-1", "gh-9-1-1-pytest", "gh-9-1-2-vitest",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_uploader_exits_non_zero_with_the_servers_error(upload, tmp_path):
    a_project("dispatch", "Dispatch")
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"run": {"id": "x"}}))
    result = upload(str(report), token="trg_wrong")
    assert result.returncode == 1
    assert "401" in result.stderr and "token" in result.stderr


def test_the_uploader_retries_server_errors_then_succeeds(upload, tmp_path):
    stand_in = Receiver(statuses=(503, 502, 201), answer={"url": "https://triage.test/p/x/runs/1/"})
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report()))
    try:
        result = upload(str(report), token="t", url=stand_in.url)
    finally:
        stand_in.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "https://triage.test/p/x/runs/1/"
    assert len(stand_in.deliveries) == 3
    assert stand_in.deliveries[0]["headers"]["Content-Encoding"] == "gzip"


def test_the_uploader_gives_up_on_an_unreachable_server(upload, tmp_path):
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report()))
    result = upload(str(report), token="t", url="http://127.0.0.1:9")
    assert result.returncode == 3
    assert "gave up after 5 tries" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_the_uploader_signs_reports_when_given_the_secret(live_server, tmp_path):
    from runs.tokens import signing_secret_set

    project, token = a_project("dispatch", "Dispatch")
    secret = signing_secret_set(project=project)
    report = tmp_path / "report.json"
    report.write_bytes(report_bytes(a_report("signed-up")))
    result = subprocess.run(
        [sys.executable, str(ROOT / "triage_upload.py"), "--url", live_server.url,
         "--project", "dispatch", str(report)],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "TRIAGE_TOKEN": token, "TRIAGE_SIGNING_SECRET": secret},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Run.objects.filter(external_id="signed-up").exists()
