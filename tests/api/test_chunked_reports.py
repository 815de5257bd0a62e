"""A report sent in chunks (no Content-Length) is read to its end under gunicorn, and a server
that cannot end the input says 411, never a misleading "malformed JSON"."""

import http.client

import pytest

from runs.models import Run
from tests.builders import a_project, a_report, report_bytes
from tests.servers import Gunicorn

pytestmark = pytest.mark.django_db(transaction=True)


def post_chunked(host: str, port: int, path: str, body: bytes, token: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    pieces = (body[i : i + 1000] for i in range(0, len(body), 1000))
    connection.request(
        "POST", path, body=pieces, encode_chunked=True,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 "Transfer-Encoding": "chunked"},
    )  # fmt: skip
    response = connection.getresponse()
    return response.status, response.read()


@pytest.mark.fault
def test_a_chunked_report_is_stored_under_gunicorn():
    _, token = a_project()
    server = Gunicorn()
    try:
        status, body = post_chunked("127.0.0.1", server.port, "/api/v1/projects/dispatch/runs",
                                    report_bytes(a_report("chunked-1")), token)  # fmt: skip
    finally:
        server.stop()
    assert status == 201, body
    assert Run.objects.get().external_id == "chunked-1"


def test_a_server_that_cannot_end_a_chunked_body_answers_411(live_server):
    _, token = a_project()
    host, port = live_server.url.removeprefix("http://").split(":")

    status, body = post_chunked(host, int(port), "/api/v1/projects/dispatch/runs",
                                report_bytes(a_report("chunked-2")), token)  # fmt: skip

    assert status == 411 and b"Content-Length" in body
    assert not Run.objects.exists()
