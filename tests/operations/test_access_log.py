"""No credential reaches a log line: gunicorn's access log, as Triage serves it, and Django's
own request warnings redact rerun tokens in paths and tokens in query strings."""

import contextlib
import time
import urllib.error
import urllib.request

import pytest

from tests.servers import Gunicorn

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]
SECRETS = ("rrt-4f9c2a7e1b", "ci-token-73d1e0", "sig-88aa11")


def test_the_access_log_names_no_rerun_token_or_token_in_a_query():
    server = Gunicorn(args=("--access-logfile", "-"))
    try:
        for path in (
            f"/api/v1/reruns/{SECRETS[0]}/status",
            f"/api/v1/projects/dispatch/runs?runId=r1&suite=s&rerunToken={SECRETS[0]}",
            f"/healthz?token={SECRETS[1]}&signature={SECRETS[2]}",
        ):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(server.url + path, timeout=5)
        time.sleep(0.5)
    finally:
        log = server.stop()
    # Gunicorn's access log and Django's own request warnings alike.
    assert '"GET /api/v1/reruns/[redacted]/status HTTP/1.1" 405' in log
    assert "rerunToken=[redacted]" in log and "token=[redacted]" in log
    assert "Method Not Allowed: /api/v1/reruns/[redacted]/status" in log
    assert not any(secret in log for secret in SECRETS), log
