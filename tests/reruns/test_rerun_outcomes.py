"""How a rerun ends: its report comes back (a pass marks a flake, not a fix), or it times out."""

import json

import pytest

from defects.models import Defect
from reruns.models import Dispatcher, Rerun
from reruns.outcomes import reruns_attach_report, reruns_time_out
from reruns.requests import rerun_request
from tests.builders import (
    a_project,
    a_report,
    a_scenario,
    a_stored_run,
    a_triaged_run,
    a_user,
    report_bytes,
)
from tests.http import post
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_ci_report_completes_the_rerun_and_a_pass_marks_a_flake_not_a_fix(
    client, failing_run, live_server
):
    project, token, user, run = failing_run
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/")
    defect = Defect.objects.get(fingerprint="BID-001|TENANT-004")
    rerun = rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                          ref_kind="commit", idempotency_key="k-report", defect=defect)  # fmt: skip
    Rerun.objects.filter(pk=rerun.pk).update(state="dispatched")
    answer = post(
        f"{live_server.url}/api/v1/reruns/{rerun.token}/status",
        json.dumps({"state": "running", "url": "https://ci.example.test/r/9"}).encode(),
    )
    assert answer.body["state"] == "running"

    report = a_report("gh-1-rerun", [a_scenario("BID-001", "passed")], rerunToken=rerun.token)
    answer = post(f"{live_server.url}/api/v1/projects/dispatch/runs", report_bytes(report),
                  token=token)  # fmt: skip

    assert answer.status == 201
    # The answer comes first; the rerun gets its outcome right after.
    assert wait_for(lambda: Rerun.objects.get(pk=rerun.pk).state == "passed", seconds=10)
    rerun.refresh_from_db()
    defect.refresh_from_db()
    assert rerun.report_run.external_id == "gh-1-rerun"
    assert rerun.ci_url == "https://ci.example.test/r/9"
    assert defect.state == "new", "a green rerun does not resolve the defect"
    assert defect.suggested_class == "flake"
    assert defect.events.filter(kind="rerun", text__contains="a flake").exists()


@pytest.mark.django_db
def test_a_report_with_only_rerun_of_goes_to_the_rerun_ci_has_not_a_waiting_one():
    project, _ = a_project()
    user = a_user("tara", member_of=project)
    run = a_triaged_run(project, a_report("gh-1", [a_scenario("BID-001", "failed")]))
    sent = Rerun.objects.create(project=project, source_run=run, scenario_keys=["BID-001"],
                                token="t-sent", idempotency_key="k-sent", state="dispatched",
                                requested_by=user)  # fmt: skip
    waiting = Rerun.objects.create(
        project=project, source_run=run, scenario_keys=["BID-001"], token="t-wait",
        idempotency_key="k-wait", requested_by=user,
    )  # fmt: skip
    report = a_stored_run(project, a_report("gh-1-again", [a_scenario("BID-001", "passed")],
                                            rerunOf="gh-1"))  # fmt: skip

    assert reruns_attach_report(run=report) == sent
    sent.refresh_from_db()
    waiting.refresh_from_db()
    assert (sent.state, waiting.state) == ("passed", "requested")


def test_a_rerun_without_a_report_times_out(failing_run):
    from datetime import timedelta

    from django.utils import timezone

    project, _, user, run = failing_run
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/",
                              timeout_minutes=30)  # fmt: skip
    rerun = rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                          ref_kind="commit", idempotency_key="k-t")  # fmt: skip
    Rerun.objects.filter(pk=rerun.pk).update(
        state="dispatched", dispatched_at=timezone.now() - timedelta(minutes=31)
    )
    assert reruns_time_out(now=timezone.now()) == 1
    assert Rerun.objects.get().state == "timed_out"
