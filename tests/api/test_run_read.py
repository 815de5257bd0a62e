"""GET /api/v1/projects/<slug>/runs/<runId>: the summary of a stored run, by CI's run id."""

from pathlib import Path

import pytest

from tests.builders import a_project, a_report, a_scenario, report_bytes

pytestmark = pytest.mark.django_db
SUREFIRE = Path(__file__).parent.parent / "fixtures" / "junit" / "surefire-reruns"


def test_a_run_reads_back_as_the_summary_its_post_was_answered_with(client, token):
    posted = client.post(
        "/api/v1/projects/dispatch/runs", report_bytes(a_report("gh-1", [
            a_scenario("BID-001", "failed"), a_scenario("BID-002", "passed"),
        ])), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    read = client.get("/api/v1/projects/dispatch/runs/gh-1", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert posted.status_code == 201 and read.status_code == 200
    assert read.json() == {**posted.json(), "created": False}
    assert read.json()["counts"]["failed"] == 1 and read.json()["status"] == "failed"


def test_a_test_that_passed_on_a_retry_is_counted_flaky(client, token):
    path = SUREFIRE / "TEST-com.github.pihme.jenkinstestbed.module1.FlakyTest.xml"
    posted = client.post(
        "/api/v1/projects/dispatch/runs?runId=maven-1&suite=full", path.read_bytes(),
        content_type="application/xml", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert posted.status_code == 201, posted.content
    assert posted.json()["counts"]["flaky"] == 1
    read = client.get(
        "/api/v1/projects/dispatch/runs/maven-1", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert read.json()["counts"]["flaky"] == 1


def test_reading_a_run_needs_its_projects_token_and_a_known_run_id(client, token):
    _, other_token = a_project("other", "Other")
    client.post(
        "/api/v1/projects/dispatch/runs", report_bytes(a_report("gh-1")),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    url = "/api/v1/projects/dispatch/runs/gh-1"
    assert client.get(url).status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {other_token}").status_code == 404
    unknown = client.get(
        "/api/v1/projects/dispatch/runs/gh-9", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert unknown.status_code == 404 and "gh-9" in unknown.json()["error"]
    assert client.post(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405


def test_a_run_id_with_slashes_reads_back(client, token):
    client.post(
        "/api/v1/projects/dispatch/runs", report_bytes(a_report("gh/8812345/1")),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    read = client.get(
        "/api/v1/projects/dispatch/runs/gh/8812345/1", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert read.status_code == 200 and read.json()["runId"] == "gh/8812345/1"
