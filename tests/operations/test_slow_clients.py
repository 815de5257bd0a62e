"""Slow clients do not stall Triage: with the web server as Triage runs it, connections that
dribble their request headers a byte at a time do not keep /healthz from answering at once."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.http import free_port
from tests.workers import ROOT, worker_database_url

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]
DRIBBLERS = 6


def dribble(port: int, stop: threading.Event) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 200
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            for byte in request:
                if stop.is_set():
                    return
                sock.send(bytes([byte]))
                time.sleep(0.5)
    except OSError:
        return


def test_healthz_answers_within_a_second_while_clients_dribble_headers():
    port = free_port()
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "ALLOWED_HOSTS": "127.0.0.1",
           "CELERY_TASK_ALWAYS_EAGER": "true"}  # fmt: skip
    env.pop("REDIS_URL", None)  # embedded mode: the check is about the web server alone
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "triage.wsgi", "-c",
         "python:triage.gunicorn_conf", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        slow = [threading.Thread(target=dribble, args=(port, stop)) for _ in range(DRIBBLERS)]
        for thread in slow:
            thread.start()
        time.sleep(2)  # every slow connection is accepted and half-way through its headers
        timings = []
        for _ in range(3):
            began = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as answer:
                assert answer.status == 200
            timings.append(time.monotonic() - began)
    finally:
        stop.set()
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    assert max(timings) < 1.0, timings
