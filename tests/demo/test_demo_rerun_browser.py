"""A newcomer on the demo clicks Rerun and watches it run the shipped demo suite to a verdict."""

import io
import json
import sys

import pytest
from django.core.management import call_command
from django.test import override_settings
from playwright.sync_api import expect

from demo.triage import DEMO_COMMAND
from reruns.models import Rerun
from runs.models import Run, ScenarioResult
from tests.workers import ROOT, Worker, purge_queue

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_command(tmp_path):
    command = {
        DEMO_COMMAND: {
            "argv": [sys.executable, str(ROOT / "demo/suite/run_demo_suite.py"), "{scenarioIds}"],
            "cwd": str(tmp_path),
            "timeout": 60,
        }
    }
    with override_settings(RERUN_COMMANDS=command):
        yield command


def test_rerun_on_the_demo_runs_the_demo_suite_to_a_passed_rerun_and_a_flake(
    live_server, page, demo_command
):
    call_command("seed_demo", stdout=io.StringIO())
    failing = (
        ScenarioResult.objects.filter(
            scenario__key="ADV-007", status="failed", run__suite__name="full"
        )
        .select_related("run")
        .order_by("-started_at")
        .first()
    )
    purge_queue()
    worker = Worker(RERUN_COMMANDS=json.dumps(demo_command))
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "demo")
        page.fill("#id_password", "demo-triage")
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/p/acme-dispatch/runs/{failing.run_id}/")
        page.click(f"#result-{failing.pk} button:has-text('Rerun ADV-007')")

        reruns = page.locator("#reruns")
        expect(reruns).to_contain_text("ADV-007")
        expect(reruns).to_contain_text("passed", timeout=30_000)
    finally:
        worker.stop()
    rerun = Rerun.objects.get()
    assert rerun.state == "passed" and rerun.report_run.commit == failing.run.commit
    assert Run.objects.filter(external_id__startswith="demo-rerun-").count() == 1
    page.goto(f"{live_server.url}/p/acme-dispatch/scenarios/ADV-007/")
    expect(page.locator("text=Flaky:")).to_be_visible()
