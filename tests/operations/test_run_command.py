"""The README's run command, in its embedded mode: SQLite in the working tree, tasks in-process."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.builders import a_report, report_bytes
from tests.http import free_port, post

# It starts gunicorn (scripts/serve.sh), as the fault tests do.
pytestmark = pytest.mark.fault
ROOT = Path(__file__).resolve().parents[2]
SERVICE_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_COOKIES",
    "STATIC_FROM_SOURCE",
    "DJANGO_SETTINGS_MODULE",
    # A first start has no keys: the run command makes them.
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "FIELD_ENCRYPTION_KEY",
)


def wait_until_serving(url: str, process: subprocess.Popen, output: list[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the run command stopped:\n" + "".join(output))
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("the run command never served:\n" + "".join(output))


def signed_in_page(base: str, path: str) -> str:
    """A page as the demo user sees it, signed in through the login form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(f"{base}/accounts/login/", timeout=30) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
    credentials = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": "demo", "password": "demo-triage"}
    ).encode()
    login = urllib.request.Request(
        f"{base}/accounts/login/", data=credentials, headers={"Referer": f"{base}/accounts/login/"}
    )
    opener.open(login, timeout=30).close()
    with opener.open(base + path, timeout=30) as response:
        return response.read().decode()


def test_the_run_command_without_services_serves_the_demo_and_ingests_a_report(tmp_path):
    database = tmp_path / "triage.sqlite3"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_SETTINGS}
    keys = tmp_path / "secrets"
    env.update(SQLITE_PATH=str(database), PORT=str(port), VENV_BIN=str(Path(sys.executable).parent),
               SECRETS_DIR=str(keys))  # fmt: skip
    process = subprocess.Popen(
        [str(ROOT / "scripts" / "serve.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/accounts/login/", process, output)
        printed = "".join(output)
        assert "Demo login: demo / demo-triage" in printed
        token = re.search(r"CI token for 'acme-dispatch' \(shown only once\): (\S+)", printed)[1]

        answer = post(
            f"http://127.0.0.1:{port}/api/v1/projects/acme-dispatch/runs",
            report_bytes(a_report("embedded-1")),
            token=token,
        )

        assert answer.status == 201, answer.body
        assert (
            answer.body["url"]
            == f"http://127.0.0.1:{port}/p/acme-dispatch/runs/{answer.body['id']}/"
        )
        with sqlite3.connect(database) as db:
            stored = db.execute(
                "SELECT failed_count FROM runs_run WHERE external_id = 'embedded-1'"
            ).fetchall()
        assert stored == [(1,)]
        # The overview reads a run's start as seconds in SQL, SQLite's way here.
        overview = signed_in_page(f"http://127.0.0.1:{port}", "/p/acme-dispatch/?days=90")
        assert 'datetime="2026-11-20T02:00:00Z"' in overview, overview[:2000]
        for name in ("secret_key", "field_encryption_keys"):
            assert (keys / name).stat().st_mode & 0o777 == 0o600, name
            assert len((keys / name).read_text().strip()) >= 44, name
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
