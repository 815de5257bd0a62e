"""Rerun and JUnit behaviours found wanting in review, kept fixed."""

import io
import logging

import pytest

from reruns.forms import DispatcherForm
from reruns.models import Dispatcher, Rerun
from reruns.outcomes import reruns_attach_report
from runs.junit import junit_report
from tests.builders import a_project, a_report, a_scenario, a_stored_run, a_triaged_run, a_user

pytestmark = pytest.mark.django_db


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


def test_parametrised_junit_cases_of_one_id_are_one_result_with_the_worst_status():
    xml = b"""<testsuite name="s" timestamp="2026-11-20T02:00:00" time="3">
      <testcase classname="t" name="test_BID_001[org-a]" time="1"><failure message="x"/>
      </testcase>
      <testcase classname="t" name="test_BID_001[org-b]" time="1"/>
      <testcase classname="t" name="test_BID_002" time="nan"/>
      <testcase classname="t" name="test_BID_003" time="1e400"/>
    </testsuite>"""
    report = junit_report(xml, run={"id": "j", "suite": "smoke"})
    by_id = {s.scenario_id: s for s in report.scenarios}
    assert by_id["BID-001"].status == "failed" and by_id["BID-001"].attempt == 1
    assert by_id["BID-001"].duration_ms == 2000
    assert by_id["BID-002"].duration_ms == 0 and by_id["BID-003"].duration_ms == 0
    assert (report.run.finished_at - report.run.started_at).total_seconds() == 3


def test_a_retried_junit_test_keeps_its_attempts():
    xml = b"""<testsuite name="s"><testcase name="BID-001 works"><failure message="x"/></testcase>
      <testcase name="BID-001 works"/></testsuite>"""
    report = junit_report(xml, run={"id": "j", "suite": "smoke"})
    assert [(s.attempt, s.status) for s in report.scenarios] == [(1, "failed"), (2, "passed")]


def test_rerun_tokens_never_reach_the_request_log(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("triage.request")
    logger.addHandler(handler)
    try:
        client.post("/api/v1/reruns/super-secret-token/status", b"{}",
                    content_type="application/json")  # fmt: skip
    finally:
        logger.removeHandler(handler)
    assert "super-secret-token" not in stream.getvalue()
    assert "/api/v1/reruns/[token]/status" in stream.getvalue()


def test_an_admin_can_only_name_token_variables_the_operator_offers(settings):
    settings.RERUN_GITHUB_TOKEN_ENVS = ["ACME_GH_TOKEN"]
    fields = {"kind": "github", "github_repository": "acme/app", "github_workflow": "rerun.yml",
              "max_concurrent": 3, "timeout_minutes": 60}  # fmt: skip
    refused = DispatcherForm({**fields, "github_token_env": "SECRET_KEY"}, instance=Dispatcher())
    allowed = DispatcherForm({**fields, "github_token_env": "ACME_GH_TOKEN"}, instance=Dispatcher())
    assert not refused.is_valid() and "github_token_env" in refused.errors
    assert allowed.is_valid(), allowed.errors
