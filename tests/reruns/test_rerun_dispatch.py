"""Reruns reach CI: one signed dispatch per click, sent by the process that took it, GitHub
workflow dispatches, retries, a killed worker or web process, a broker that is down, the
operator's own command. Real worker, real Redis and PostgreSQL, local stand-ins for CI."""

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from reruns.models import Dispatcher, Rerun
from reruns.requests import rerun_request
from runs.secrets import secret_encrypt
from tests.ci_standins import Receiver
from tests.http import free_port
from tests.workers import ROOT, Worker, purge_queue, wait_for, worker_database_url

pytestmark = pytest.mark.django_db(transaction=True)
SUITE = ROOT / "tests" / "fixtures" / "tiny_suite"


@pytest.fixture
def receiver():
    receivers = []

    def start(**options):
        receivers.append(Receiver(**options))
        return receivers[-1]

    yield start
    for each in receivers:
        each.close()


def webhook_dispatcher(project, url: str, **fields) -> Dispatcher:
    return Dispatcher.objects.create(
        project=project, kind="webhook", webhook_url=url + "/ci/rerun",
        webhook_secret_encrypted=secret_encrypt("s3cret"), **fields,
    )  # fmt: skip


def click(client, run, key: str, **fields):
    return client.post(f"/p/dispatch/runs/{run.pk}/rerun/", {"key": key, **fields})


@pytest.mark.worker
def test_one_click_is_one_signed_dispatch_with_the_right_inputs(client, failing_run, receiver):
    project, _, user, run = failing_run
    ci = receiver(answer={"url": "https://ci.example.test/runs/77"})
    webhook_dispatcher(project, ci.url)
    purge_queue()
    worker = Worker()
    client.force_login(user)
    try:
        click(client, run, "click-1", failed="1")
        click(client, run, "click-1", failed="1")  # the double click
        rerun = Rerun.objects.get()
        assert wait_for(lambda: Rerun.objects.get().state == "dispatched"), worker.log()
    finally:
        worker.stop()

    assert len(ci.deliveries) == 1
    delivery = ci.deliveries[0]
    expected = "sha256=" + hmac.new(b"s3cret", delivery["raw"], hashlib.sha256).hexdigest()
    assert delivery["headers"]["X-Triage-Signature"] == expected
    body = delivery["body"]
    assert body["scenarioIds"] == ["BID-001", "BID-002"]
    assert (body["ref"], body["commit"], body["branch"]) == ("9f1c2e7", "9f1c2e7", "main")
    assert body["rerunToken"] == rerun.token
    assert body["callbackUrl"].endswith(f"/api/v1/reruns/{rerun.token}/status")
    rerun.refresh_from_db()
    assert rerun.ci_url == "https://ci.example.test/runs/77"
    assert rerun.requested_by == user


def test_a_click_reaches_ci_with_no_worker_running(client, failing_run, receiver):
    project, _, user, run = failing_run
    ci = receiver()
    webhook_dispatcher(project, ci.url)
    purge_queue()
    client.force_login(user)
    click(client, run, "k-no-worker", failed="1")
    assert ci.first_arrived.wait(10)
    assert wait_for(lambda: Rerun.objects.get().state == "dispatched", 10)
    assert ci.deliveries[0]["body"]["scenarioIds"] == ["BID-001", "BID-002"]
    assert Rerun.objects.get().attempts == 1


def test_github_actions_receives_a_workflow_dispatch(
    client, failing_run, receiver, settings, monkeypatch
):
    project, _, user, run = failing_run
    github = receiver(statuses=(204,))
    Dispatcher.objects.create(
        project=project, kind="github", github_repository="acme/app",
        github_workflow="rerun.yml", github_token_env="TEST_GH_TOKEN",
    )  # fmt: skip
    # The process that takes the click sends it: it has what the workers have.
    monkeypatch.setenv("TEST_GH_TOKEN", "ghp-from-env")
    settings.RERUN_GITHUB_TOKEN_ENVS = ["TEST_GH_TOKEN"]
    settings.GITHUB_API_URL = github.url
    client.force_login(user)
    click(client, run, "gh-click", scenario="BID-002", ref="branch")
    assert wait_for(lambda: Rerun.objects.get().state == "dispatched", 10)
    [delivery] = github.deliveries
    assert delivery["path"] == "/repos/acme/app/actions/workflows/rerun.yml/dispatches"
    assert delivery["headers"]["Authorization"] == "Bearer ghp-from-env"
    assert delivery["body"]["ref"] == "main"
    assert delivery["body"]["inputs"]["scenario_ids"] == "BID-002"
    assert delivery["body"]["inputs"]["commit"] == ""
    assert delivery["body"]["inputs"]["rerun_token"] == Rerun.objects.get().token


@pytest.mark.worker
def test_server_errors_are_retried_until_ci_accepts(failing_run, receiver):
    project, _, user, run = failing_run
    ci = receiver(statuses=(500, 502, 202))
    webhook_dispatcher(project, ci.url)
    purge_queue()
    worker = Worker()
    try:
        rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                      ref_kind="commit", idempotency_key="k-retry")  # fmt: skip
        assert wait_for(lambda: Rerun.objects.get().state == "dispatched", 30), worker.log()
    finally:
        worker.stop()
    assert Rerun.objects.get().attempts == 3
    assert len(ci.deliveries) == 3 and len(ci.distinct_keys) == 1


def rerun_with_a_worker(project, user, run, *, key: str, until: str) -> Rerun:
    """Ask for a rerun of BID-001 and let a real worker dispatch it until it is in `until`."""
    purge_queue()
    worker = Worker()
    try:
        rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                      ref_kind="commit", idempotency_key=key)  # fmt: skip
        assert wait_for(lambda: Rerun.objects.get().state == until), worker.log()
    finally:
        worker.stop()
    return Rerun.objects.get()


@pytest.mark.worker
@pytest.mark.parametrize("from_request", [True, False], ids=["from-request", "by-a-worker"])
def test_a_client_error_is_shown_with_the_ci_message_and_not_retried(
    failing_run, receiver, settings, from_request
):
    project, _, user, run = failing_run
    settings.RERUN_DISPATCH_FROM_REQUEST = from_request
    ci = receiver(statuses=(422,))
    webhook_dispatcher(project, ci.url)
    rerun = rerun_with_a_worker(project, user, run, key="k-422", until="error")
    assert "422" in rerun.last_error and "refused with 422" in rerun.last_error
    assert len(ci.deliveries) == 1


@pytest.mark.worker
def test_a_webhook_secret_no_key_can_read_stops_the_dispatch_unsent(
    failing_run, receiver, settings
):
    project, _, user, run = failing_run
    ci = receiver()
    # Stored under a key dropped since, which neither the web process nor the worker has.
    kept = settings.FIELD_ENCRYPTION_KEYS
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    webhook_dispatcher(project, ci.url)
    settings.FIELD_ENCRYPTION_KEYS = kept
    rerun = rerun_with_a_worker(project, user, run, key="k-unreadable", until="error")
    assert rerun.last_error == (
        "the stored webhook secret cannot be read with the current encryption keys; "
        "enter it again in the dispatcher settings"
    )
    assert ci.deliveries == []


def a_worker_takes_over_with_one_dispatch(ci, tmp_path: Path, env: dict[str, str]) -> None:
    """A worker with beat, whose sweep finds the claim lapsed, dispatches the rerun again:
    two calls, one idempotency key, so one dispatch for a receiver that honours it."""
    worker = Worker(beat_schedule=tmp_path / "beat", **env)
    try:
        assert wait_for(lambda: Rerun.objects.get().state == "dispatched", 40), worker.log()
    finally:
        worker.stop()
    assert len(ci.distinct_keys) == 1, ci.distinct_keys
    assert Rerun.objects.get().attempts == len(ci.deliveries) == 2


def a_click_in_its_own_process(run, key: str, *, stays: bool = False) -> list[str]:
    """The command of a process that asks, as tara, for a rerun of BID-001 of `run` and prints
    its id; with `stays`, it then waits (its background threads sending) until killed."""
    script = (
        "import django, threading; django.setup();"
        "from runs.models import Run; from django.contrib.auth.models import User;"
        "from reruns.requests import rerun_request;"
        f"run = Run.objects.get(pk={run.pk});"
        "r = rerun_request(project=run.project, user=User.objects.get(username='tara'),"
        f" source_run=run, scenario_keys=['BID-001'], ref_kind='commit', idempotency_key={key!r});"
        "print(r.pk, flush=True)" + ("; threading.Event().wait()" if stays else "")
    )
    return [sys.executable, "-c", script]


def click_env(**settings: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": worker_database_url(),
            "DJANGO_SETTINGS_MODULE": "triage.settings", **settings}  # fmt: skip


@pytest.mark.worker
@pytest.mark.fault
def test_a_worker_killed_mid_dispatch_leads_to_exactly_one_dispatch(
    failing_run, receiver, tmp_path, settings
):
    project, _, user, run = failing_run
    ci = receiver(hold_first=5)
    webhook_dispatcher(project, ci.url)
    # The worker sends it, as it does a retry or a local command.
    settings.RERUN_DISPATCH_FROM_REQUEST = False
    fast_takeover = {"RERUN_DISPATCH_LEASE_SECONDS": "2", "RERUN_SWEEP_SECONDS": "1",
                     "CELERY_VISIBILITY_TIMEOUT": "3"}  # fmt: skip
    purge_queue()
    first = Worker(**fast_takeover)
    try:
        rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                      ref_kind="commit", idempotency_key="k-kill")  # fmt: skip
        assert ci.first_arrived.wait(30), first.log()
    finally:
        first.kill()
    assert Rerun.objects.get().state == "dispatching"
    a_worker_takes_over_with_one_dispatch(ci, tmp_path, fast_takeover)


@pytest.mark.worker
@pytest.mark.fault
def test_with_the_broker_down_a_request_waits_and_is_sent_when_it_is_back(
    failing_run, receiver, tmp_path
):
    project, _, _, run = failing_run
    ci = receiver()
    webhook_dispatcher(project, ci.url)
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    # Nothing listens on the port yet: the broker is down while the user clicks. The click
    # is made by a process of its own that knows only that broker. It would send the call
    # itself; here it leaves it to a worker, as it does a retry.
    env = click_env(REDIS_URL=broker, RERUN_DISPATCH_FROM_REQUEST="false")
    done = subprocess.run(a_click_in_its_own_process(run, "k-down"), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rerun = Rerun.objects.get(pk=int(done.stdout.strip().splitlines()[-1]))
    assert Rerun.objects.get(pk=rerun.pk).state == "requested"
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                              "--appendonly", "no", "--bind", "127.0.0.1"],
                             stdout=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    worker = None
    try:
        worker = Worker(beat_schedule=tmp_path / "beat", REDIS_URL=broker, RERUN_SWEEP_SECONDS="1")
        assert wait_for(lambda: Rerun.objects.get().state == "dispatched", 40), worker.log()
    finally:
        if worker:
            worker.stop()
        os.kill(redis.pid, signal.SIGTERM)
        redis.wait(timeout=30)
    assert len(ci.deliveries) == 1


@pytest.mark.worker
@pytest.mark.fault
def test_a_web_process_killed_mid_dispatch_leads_to_exactly_one_dispatch(
    failing_run, receiver, tmp_path
):
    project, _, _, run = failing_run
    ci = receiver(hold_first=5)
    webhook_dispatcher(project, ci.url)
    # Long enough for the call to leave within half of it on a busy machine.
    fast_takeover = {"RERUN_DISPATCH_LEASE_SECONDS": "6", "RERUN_SWEEP_SECONDS": "1"}
    # The click is taken by a process of its own, which sends the call and is killed while
    # CI holds it.
    purge_queue()
    web = subprocess.Popen(a_click_in_its_own_process(run, "k-web", stays=True), cwd=ROOT,
                           env=click_env(**fast_takeover), text=True, stdout=subprocess.PIPE,
                           start_new_session=True)  # fmt: skip
    try:
        assert ci.first_arrived.wait(60)
    finally:
        os.kill(web.pid, signal.SIGKILL)
        web.wait(timeout=30)
    rerun = Rerun.objects.get()
    assert (rerun.state, rerun.attempts) == ("dispatching", 1)
    a_worker_takes_over_with_one_dispatch(ci, tmp_path, fast_takeover)


@pytest.mark.worker
def test_a_rerun_that_waited_past_half_its_claim_is_sent_once_by_a_worker(
    failing_run, receiver, settings
):
    project, _, user, run = failing_run
    ci = receiver()
    webhook_dispatcher(project, ci.url)
    # A claim with no time in it: the background thread finds it as one that waited in its
    # queue too long, and hands it back instead of racing a worker for it.
    settings.RERUN_DISPATCH_LEASE_SECONDS = 0
    rerun = rerun_with_a_worker(project, user, run, key="k-late", until="dispatched")
    assert rerun.attempts == len(ci.deliveries) == 1


@pytest.mark.worker
def test_the_local_command_runs_a_tiny_real_suite_and_ingests_its_report(failing_run, tmp_path):
    project, _, user, run = failing_run
    Dispatcher.objects.create(project=project, kind="command", command_name="tiny")
    commands = {"tiny": {"argv": [os.environ.get("PYTHON", "python3"), "suite.py", "{scenarioIds}"],
                         "cwd": str(SUITE), "timeout": 60, "report": "report.json"}}  # fmt: skip
    purge_queue()
    worker = Worker(RERUN_COMMANDS=json.dumps(commands))
    try:
        rerun_request(project=project, user=user, source_run=run,
                      scenario_keys=["BID-001", "BID-002"], ref_kind="commit",
                      idempotency_key="k-local")  # fmt: skip
        assert wait_for(lambda: Rerun.objects.get().state == "passed", 40), worker.log()
    finally:
        worker.stop()
        Path(SUITE / "report.json").unlink(missing_ok=True)
    rerun = Rerun.objects.get()
    assert rerun.exit_code == 0
    assert "2 passed, 0 failed" in rerun.output_tail
    assert "worker secrets visible: False" in rerun.output_tail
    assert rerun.report_run.passed_count == 2
    assert rerun.report_run.rerun_of == run


def test_ids_that_are_not_scenario_ids_never_reach_a_command_line(failing_run):
    from reruns.dispatchers import DispatchRefused, checked_scenario_ids

    with pytest.raises(DispatchRefused):
        checked_scenario_ids(["BID-001", "BID-002; rm -rf ~"])
    assert checked_scenario_ids(["BID-001"]) == ["BID-001"]
