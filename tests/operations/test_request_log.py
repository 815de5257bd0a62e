"""The request log: one JSON line per request, and no secret from a URL in it."""

import io
import json
import logging

import pytest

pytestmark = pytest.mark.django_db


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


def test_rerun_tokens_never_reach_the_request_log(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("triage.request")
    logger.addHandler(handler)
    try:
        client.post("/api/v1/reruns/super-secret-token/status", b"{}",
                    content_type="application/json")  # fmt: skip
    finally:
        logger.removeHandler(handler)
    assert "super-secret-token" not in stream.getvalue()
    assert "/api/v1/reruns/[redacted]/status" in stream.getvalue()
