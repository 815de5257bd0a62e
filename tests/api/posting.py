"""Posting reports to the webhook through Django's test client, as CI would send them."""

from tests.builders import report_bytes

RUNS = "/api/v1/projects/dispatch/runs"


def post_json(client, token: str, report: dict):
    return client.post(
        RUNS, report_bytes(report), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip


def post_xml(client, token: str, body: bytes, query: str):
    return client.post(
        f"{RUNS}?{query}", body, content_type="application/xml",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
