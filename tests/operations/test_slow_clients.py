"""Slow clients do not stall Triage: with the web server as Triage runs it, connections that
dribble their request headers a byte at a time do not keep /healthz from answering at once."""

import socket
import threading
import time
import urllib.request

import pytest

from tests.servers import Gunicorn

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
    # Embedded mode (no broker): the check is about the web server alone.
    server = Gunicorn(workers=2, without=("REDIS_URL",))
    stop = threading.Event()
    try:
        slow = [
            threading.Thread(target=dribble, args=(server.port, stop)) for _ in range(DRIBBLERS)
        ]
        for thread in slow:
            thread.start()
        time.sleep(2)  # every slow connection is accepted and half-way through its headers
        timings = []
        for _ in range(3):
            began = time.monotonic()
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as answer:
                assert answer.status == 200
            timings.append(time.monotonic() - began)
    finally:
        stop.set()
        server.stop()
    assert max(timings) < 1.0, timings
