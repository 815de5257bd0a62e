"""/metrics: reports counted by outcome, ingest timed, rerun figures; optionally behind a token."""

import pytest
from django.test import override_settings

from tests.builders import a_project, a_report, report_bytes
from tests.http import post


@pytest.mark.django_db(transaction=True)
@override_settings(METRICS_PUBLIC=True)
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
def test_metrics_are_off_by_default_in_production(client):
    with override_settings(METRICS_TOKEN="", METRICS_PUBLIC=False):
        answer = client.get("/metrics")
    assert answer.status_code == 403 and b"METRICS_TOKEN" in answer.content
