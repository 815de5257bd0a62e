"""What real runners add to JUnit: Maven's reruns, epoch-millisecond and zero timestamps,
googletest's disabled tests. Expected figures come from reading each file (fixtures README)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runs.models import Run, ScenarioFlake, ScenarioResult

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent.parent / "fixtures" / "junit"
SUREFIRE = FIXTURES / "surefire-reruns"


def post_xml(client, token: str, xml: bytes, run_id: str, **params: str):
    query = "&".join(f"{k}={v}" for k, v in {"runId": run_id, "suite": "full", **params}.items())
    return client.post(
        f"/api/v1/projects/dispatch/runs?{query}", xml, content_type="application/xml",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip


def post_junit(client, token: str, path: Path, run_id: str, **params: str):
    return post_xml(client, token, path.read_bytes(), run_id, **params)


def attempts(run: Run) -> list[tuple[int, str]]:
    return list(ScenarioResult.objects.filter(run=run).order_by("attempt")
                .values_list("attempt", "status"))  # fmt: skip


def test_a_maven_test_that_passed_on_rerun_is_a_failed_attempt_then_a_pass_and_a_flake(
    client, token
):
    path = SUREFIRE / "TEST-com.github.pihme.jenkinstestbed.module1.FlakyTest.xml"
    answer = post_junit(client, token, path, "maven-1", commit="9f1c2e7")

    assert answer.status_code == 201, answer.content
    run = Run.objects.get()
    assert attempts(run) == [(1, "failed"), (2, "passed")]
    failed = ScenarioResult.objects.get(run=run, attempt=1)
    assert failed.failures.get().message == "failed"
    assert ScenarioFlake.objects.filter(scenario=failed.scenario, commit="9f1c2e7").exists()


def test_a_maven_error_that_passed_on_rerun_is_an_error_attempt_then_a_pass(client, token):
    path = SUREFIRE / "TEST-com.github.pihme.jenkinstestbed.module1.FlakyErrorTest.xml"
    assert post_junit(client, token, path, "maven-2").status_code == 201
    run = Run.objects.get()
    assert attempts(run) == [(1, "error"), (2, "passed")]
    assert (
        "Oops, something happeeed" in ScenarioResult.objects.get(attempt=1).failures.get().message
    )


@pytest.mark.parametrize(("name", "status"), [("FailingTest", "failed"), ("ErrorTest", "error")])
def test_maven_reruns_that_kept_failing_are_all_attempts(client, token, name, status):
    # Surefire ran each 16 times (rerunFailingTestsCount=15): the suite says tests="16".
    path = SUREFIRE / f"TEST-com.github.pihme.jenkinstestbed.module1.{name}.xml"
    assert post_junit(client, token, path, f"maven-{name}").status_code == 201
    assert attempts(Run.objects.get()) == [(number, status) for number in range(1, 17)]


def test_epoch_millisecond_timestamps_of_older_playwright_are_read_as_such(client, token):
    answer = post_junit(client, token, FIXTURES / "playwright-1.31-projects.xml", "pw-131")

    assert answer.status_code == 201, answer.content
    run = Run.objects.get()
    assert run.started_at == datetime.fromtimestamp(1795974098.543, tz=UTC)
    assert run.finished_at >= run.started_at


def test_gos_zero_time_falls_back_to_the_time_of_the_post(client, token):
    before = datetime.now(UTC)
    answer = post_junit(client, token, FIXTURES / "gotestsum.xml", "go-1")

    assert answer.status_code == 201, answer.content
    run = Run.objects.get()
    assert before - timedelta(seconds=1) <= run.started_at <= datetime.now(UTC)
    counts = answer.json()["counts"]
    assert (counts["passed"], counts["failed"], counts["skipped"]) == (42, 13, 5)


def test_a_timestamp_no_run_can_use_never_refuses_the_report(client, token):
    # googletest's file with its suite's start replaced: a far future, words, an overflow.
    xml = (FIXTURES / "googletest.xml").read_bytes()
    suite_start = b'errors="0" time="0" timestamp="2026-11-29T17:41:54.325"'
    for number, stamp in enumerate(["9999-12-31T23:59:59", "yesterday", "99999999999999999999"]):
        odd = xml.replace(suite_start, f'errors="0" time="0" timestamp="{stamp}"'.encode())
        answer = post_xml(client, token, odd, f"odd-{number}")
        assert answer.status_code == 201, (stamp, answer.content)


def test_googletests_disabled_test_counts_as_skipped(client, token):
    answer = post_junit(client, token, FIXTURES / "googletest.xml", "gtest-1")

    assert answer.status_code == 201, answer.content
    statuses = dict(ScenarioResult.objects.values_list("scenario__key", "status"))
    assert statuses == {"BID-001": "passed", "BID-002": "failed", "SCH-003": "skipped",
                        "UI-009": "skipped"}  # fmt: skip
    assert ScenarioResult.objects.get(scenario__key="BID-002").failures.get().invariant.key == (
        "TENANT-004"
    )
