"""Project tokens on the API: rotation with an overlap, revocation at once, signed reports,
and a token that opens no other project's routes."""

import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from runs.models import ProjectToken, Run
from runs.tokens import signature_for, signing_secret_set
from tests.builders import a_project, a_report, report_bytes
from tests.routes import fill, named_routes

pytestmark = pytest.mark.django_db
URL = "/api/v1/projects/dispatch/runs"


def send(client, token: str, body: bytes, **headers):
    return client.post(URL, body, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}", **headers)  # fmt: skip


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_token", "dispatch", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_after_rotation_both_tokens_work_until_the_overlap_ends(client):
    _, old = a_project()
    new = rotate("--overlap", "2h")
    assert send(client, old, report_bytes(a_report("r-1"))).status_code == 201
    assert send(client, new, report_bytes(a_report("r-2"))).status_code == 201
    ProjectToken.objects.exclude(expires_at=None).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert send(client, old, report_bytes(a_report("r-3"))).status_code == 401
    assert send(client, new, report_bytes(a_report("r-4"))).status_code == 201


def test_revoked_tokens_stop_at_once(client):
    _, old = a_project()
    new = rotate("--revoke-now")
    assert send(client, old, report_bytes(a_report("r-1"))).status_code == 401
    assert send(client, new, report_bytes(a_report("r-2"))).status_code == 201


def test_a_project_with_a_signing_secret_needs_signed_reports(client):
    project, token = a_project()
    secret = signing_secret_set(project=project)
    body = report_bytes(a_report("signed-1"))
    now = str(int(time.time()))

    unsigned = send(client, token, body)
    forged = signature_for("not-the-secret", now, URL, body)
    wrong = send(client, token, body, HTTP_X_TRIAGE_TIMESTAMP=now, HTTP_X_TRIAGE_SIGNATURE=forged)
    stale_stamp = str(int(time.time()) - 3600)
    stale = send(client, token, body, HTTP_X_TRIAGE_TIMESTAMP=stale_stamp,
                 HTTP_X_TRIAGE_SIGNATURE=signature_for(secret, stale_stamp, URL, body))  # fmt: skip
    tampered = send(client, token, report_bytes(a_report("signed-2")), HTTP_X_TRIAGE_TIMESTAMP=now,
                    HTTP_X_TRIAGE_SIGNATURE=signature_for(secret, now, URL, body))  # fmt: skip
    good = send(client, token, body, HTTP_X_TRIAGE_TIMESTAMP=now,
                HTTP_X_TRIAGE_SIGNATURE=signature_for(secret, now, URL, body))  # fmt: skip

    assert [r.status_code for r in (unsigned, wrong, stale, tampered)] == [401] * 4
    assert "requires" in unsigned.json()["error"]
    assert "more than 300 s" in stale.json()["error"]
    assert good.status_code == 201
    assert list(Run.objects.values_list("external_id", flat=True)) == ["signed-1"]


def test_the_query_string_is_signed_too_so_a_junit_upload_cannot_be_renamed(client):
    project, token = a_project()
    secret = signing_secret_set(project=project)
    xml = b'<testsuite name="s"><testcase name="BID-001 works"/></testsuite>'
    now = str(int(time.time()))
    signed_for = f"{URL}?runId=ci-1&suite=smoke"

    def junit(target: str, signature: str):
        return client.post(target, xml, content_type="application/xml",
                           HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TRIAGE_TIMESTAMP=now,
                           HTTP_X_TRIAGE_SIGNATURE=signature)  # fmt: skip

    signature = signature_for(secret, now, signed_for, xml)
    assert junit(signed_for, signature).status_code == 201
    assert junit(f"{URL}?runId=forged&suite=smoke&branch=release", signature).status_code == 401
    assert list(Run.objects.values_list("external_id", flat=True)) == ["ci-1"]
    assert junit(signed_for, "sha256=é").status_code == 401


def test_the_api_refuses_another_projects_slug_with_my_token(two_projects, client):
    token = two_projects["mine_token"]
    for name, route in named_routes():
        if not name.startswith("api_") or "<slug" not in route:
            continue
        url = fill(route, name, {"slug": "theirs", "external_id": "their-run"})
        assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code in (404, 405)
        response = client.post(url, b"{}", content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
        assert response.status_code in (404, 405), url
