"""No credential reaches a log line: gunicorn's access log, as Triage serves it, and Django's
own request warnings redact rerun tokens in paths and tokens in query strings."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.http import free_port
from tests.workers import ROOT, worker_database_url

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]
SECRETS = ("rrt-4f9c2a7e1b", "ci-token-73d1e0", "sig-88aa11")


def test_the_access_log_names_no_rerun_token_or_token_in_a_query():
    port = free_port()
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "ALLOWED_HOSTS": "127.0.0.1"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "triage.wsgi", "-c",
         "python:triage.gunicorn_conf", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    urls = [
        f"{base}/api/v1/reruns/{SECRETS[0]}/status",
        f"{base}/api/v1/projects/dispatch/runs?runId=r1&suite=s&rerunToken={SECRETS[0]}",
        f"{base}/healthz?token={SECRETS[1]}&signature={SECRETS[2]}",
    ]
    try:
        deadline = time.monotonic() + 60
        sent = 0
        while time.monotonic() < deadline and sent < len(urls):
            try:
                urllib.request.urlopen(urls[sent], timeout=5)
                sent += 1
            except urllib.error.HTTPError:
                sent += 1
            except OSError:
                time.sleep(0.2)
        assert sent == len(urls)
        time.sleep(0.5)
    finally:
        os.killpg(server.pid, 15)
        log = server.communicate(timeout=30)[0]
    # Gunicorn's access log and Django's own request warnings alike.
    assert '"GET /api/v1/reruns/[redacted]/status HTTP/1.1" 405' in log
    assert "rerunToken=[redacted]" in log and "token=[redacted]" in log
    assert "Method Not Allowed: /api/v1/reruns/[redacted]/status" in log
    assert not any(secret in log for secret in SECRETS), log
