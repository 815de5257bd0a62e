"""Rerun latency: from the HTTP request asking for a rerun to CI's receipt of the dispatch.

The request goes through Django's full stack in this process; the rerun leaves as the
settings send it (from the requesting process, or through Redis and a real Celery worker, which
runs either way) for a local HTTP server standing in for a generic CI webhook. The stand-in runs
in a process of its own, as CI would, keeps connections open between calls as CI providers' APIs
do (HTTP/1.1), and reports each arrival on the machine's monotonic clock, which both processes
read. 50 reruns, one after another. Last line: `median <ms> ms; p95 <ms> ms`.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench_rerun \
       REDIS_URL=redis://127.0.0.1:6379/14 python bench/rerun.py
"""

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


from benchenv import configure, open_bench_database, percentile

configure(
    "triage_bench_rerun",
    REDIS_URL="redis://127.0.0.1:6379/14",
    CELERY_QUEUE="triage-bench",
    OUTBOUND_ALLOW_PRIVATE_NETWORKS="true",
    OUTBOUND_ALLOWED_HOSTS="127.0.0.1",
)

RERUNS = 50


RECEIVER = """
import threading
from tests.ci_standins import Receiver

class Announced(list):
    def append(self, delivery):
        super().append(delivery)
        print(delivery["at"], flush=True)

ci = Receiver(keep_alive=True)
ci.deliveries = Announced()
print(ci.url, flush=True)
threading.Event().wait()
"""


class OutOfProcessReceiver:
    """The CI stand-in of the tests, in a child process; `deliveries` as the tests' has it."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", RECEIVER], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        self.url = self.process.stdout.readline().strip()
        self.deliveries: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        # time.perf_counter is CLOCK_MONOTONIC on Linux: one clock for every process.
        for line in self.process.stdout:
            self.deliveries.append({"at": float(line)})

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def main() -> None:
    open_bench_database(empty=True)
    from django.contrib.auth.models import User
    from django.test import Client

    from reruns.models import Dispatcher, Rerun
    from runs.ingest import run_ingest
    from runs.models import Membership
    from runs.projects import membership_grant, project_create
    from runs.schema import RunReport

    project, _ = project_create(slug="bench", name="Bench")
    user = User.objects.create_user("bench", password="bench-password-1")  # noqa: S106
    membership_grant(project=project, user=user, role=Membership.Role.TRIAGER)
    report = RunReport.model_validate(
        {
            "run": {"id": "bench-run", "suite": "smoke", "branch": "main", "commit": "abc1234",
                    "startedAt": "2026-11-20T02:00:00Z", "finishedAt": "2026-11-20T02:05:00Z"},
            "scenarios": [{"scenarioId": "BID-001", "status": "failed"}],
        }
    )  # fmt: skip
    run = run_ingest(project=project, report=report).run
    ci = OutOfProcessReceiver()
    Dispatcher.objects.create(
        project=project, kind="webhook", webhook_url=ci.url + "/rerun", max_concurrent=RERUNS + 1
    )
    celery = str(Path(sys.executable).parent / "celery")
    queue = os.environ["CELERY_QUEUE"]
    subprocess.run([celery, "-A", "triage", "purge", "-f", "-Q", queue], cwd=ROOT,
                   capture_output=True, check=False)  # fmt: skip
    worker = subprocess.Popen(
        [celery, "-A", "triage", "worker", "-Q", queue, "--pool=solo", "--without-gossip",
         "--without-mingle", "--loglevel=WARNING"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(worker.stdout), daemon=True).start()
    try:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        # One warm-up rerun so the worker has connected to Redis and PostgreSQL.
        client.post(f"/p/bench/runs/{run.pk}/rerun/", {"key": "warm-up", "failed": "1"})
        deadline = time.monotonic() + 60
        while len(ci.deliveries) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        latencies, answered = [], []
        for number in range(RERUNS):
            before = len(ci.deliveries)
            started = time.perf_counter()
            response = client.post(
                f"/p/bench/runs/{run.pk}/rerun/", {"key": f"bench-{number}", "failed": "1"}
            )
            answered.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 302), response.status_code
            deadline = time.monotonic() + 30
            while len(ci.deliveries) <= before and time.monotonic() < deadline:
                time.sleep(0.001)
            assert len(ci.deliveries) > before, "".join(output)
            latencies.append((ci.deliveries[before]["at"] - started) * 1000)
        deadline = time.monotonic() + 10
        while Rerun.objects.exclude(state="dispatched").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        dispatched = Rerun.objects.filter(state="dispatched").count()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        ci.close()
    print(f"reruns: {RERUNS}, dispatched: {dispatched - 1} (+1 warm-up), "
          f"deliveries: {len(ci.deliveries) - 1}")  # fmt: skip
    print(f"min {min(latencies):.0f} ms; max {max(latencies):.0f} ms")
    print(f"the click answered after: median {statistics.median(answered):.1f} ms")
    print(f"median {statistics.median(latencies):.1f} ms; p95 {percentile(latencies, 0.95):.1f} ms")


if __name__ == "__main__":
    main()
