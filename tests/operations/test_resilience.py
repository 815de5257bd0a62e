"""Faults: PostgreSQL restarted under load, Redis gone. Scripted, with processes of our own."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.builders import a_report, a_user, report_bytes
from tests.http import free_port, post

pytestmark = pytest.mark.fault
ROOT = Path(__file__).resolve().parents[2]


def test_a_postgresql_restart_under_load_loses_nothing_and_answers_503_not_500():
    result = subprocess.run(
        [sys.executable, "bench/load.py", "--seconds", "15", "--clients", "3",
         "--restart-postgres"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    outage = next(line for line in lines if line.startswith("during the outage"))
    answered_503, with_retry_after = map(
        int, re.findall(r"(\d+) answers were 503, (\d+)", outage)[0]
    )
    assert answered_503 > 0 and with_retry_after == answered_503
    assert outage.endswith("0 were other 5xx")
    assert re.search(r"lost 0; duplicated 0$", lines[-1]), lines[-1]
    assert any(line.startswith("refused but stored anyway: 0;") for line in lines)


@pytest.mark.django_db(transaction=True)
def test_without_redis_reports_are_stored_and_pages_served():
    """Redis down: a web server whose broker port has nothing behind it still does its job."""
    from runs.models import Project
    from runs.projects import project_create
    from tests.workers import worker_database_url

    _, token = project_create(slug="dispatch", name="Dispatch")
    port = free_port()
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "REDIS_URL": dead_broker,
           "ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "triage.wsgi", "--bind",
         f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5)
                health = 200
            except urllib.error.HTTPError as error:
                health = error.code
            except OSError:
                time.sleep(0.2)
        assert health == 503, "healthz must say the broker is down"
        answer = post(f"{base}/api/v1/projects/dispatch/runs", report_bytes(a_report()),
                      token=token)  # fmt: skip
        assert answer.status == 201, answer.body
        a_user("dana", member_of=Project.objects.get(slug="dispatch"))
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login = browser.open(f"{base}/accounts/login/", timeout=10).read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)[1]
        form = urllib.parse.urlencode({"username": "dana", "password": "pw-for-tests",
                                       "csrfmiddlewaretoken": csrf}).encode()  # fmt: skip
        login_url = f"{base}/accounts/login/"
        request = urllib.request.Request(login_url, data=form, headers={"Referer": login_url})
        browser.open(request, timeout=10)
        page = browser.open(f"{base}/p/dispatch/runs/", timeout=10)
        assert page.status == 200 and "gh-8812345-1" in page.read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
