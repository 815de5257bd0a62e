"""What follows a stored report (grouping into defects, a rerun's outcome) runs after the
answer: CI is answered as soon as the run is stored, however many failures it holds."""

import json
import urllib.request

import pytest

from defects.models import Defect
from runs.models import Run
from tests.builders import a_failure, a_project, a_report, a_scenario, report_bytes
from tests.servers import Gunicorn
from tests.workers import Worker, purge_queue, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def distinct_message(n: int) -> str:
    """A message of its own for each failure, in letters: numbers in messages are masked
    when failures are sorted by reason, and one shared reason would make one incident."""
    return "check " + "".join(chr(ord("a") + int(digit)) for digit in f"{n:05d}") + " failed"


def failing_report(run_id: str, failures: int) -> dict:
    return a_report(
        run_id,
        [
            a_scenario(
                f"BID-{n:05d}",
                "failed",
                failures=[a_failure(invariantId=f"TENANT-{n:05d}", message=distinct_message(n))],
            )
            for n in range(failures)
        ],
    )


def post_report(url: str, token: str, report: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/api/v1/projects/dispatch/runs",
        data=report_bytes(report),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, json.loads(response.read())


def test_ci_is_answered_before_grouping_and_a_worker_groups_the_run(client, settings):
    settings.REPORT_FOLLOW_UP_IN_PROCESS = False
    purge_queue()
    _, token = a_project()

    answer = client.post(
        "/api/v1/projects/dispatch/runs",
        report_bytes(failing_report("gh-1", 3)),
        content_type="application/json",
        headers={"authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 201
    assert Run.objects.filter(external_id="gh-1").exists()
    assert not Defect.objects.exists(), "no worker is running yet, so nothing is grouped"
    worker = Worker()
    try:
        assert wait_for(lambda: Defect.objects.filter(kind="defect").count() == 3, 60), worker.log()
    finally:
        worker.stop()


def test_a_report_of_16000_failures_is_answered_201_and_grouped_after(transactional_db):
    """A big report inside every limit once ran into the web worker's timeout and got 500."""
    purge_queue()
    _, token = a_project()
    server = Gunicorn()
    worker = Worker()
    try:
        status, summary = post_report(server.url, token, failing_report("gh-big", 16000))
        assert status == 201 and summary["counts"]["failed"] == 16000
        assert wait_for(lambda: Defect.objects.filter(kind="defect").count() == 16000, 240), (
            worker.log()
        )
    finally:
        worker.stop()
        server.stop()
