"""Load: concurrent CI clients posting reports to gunicorn (2 workers) on 127.0.0.1 for 60 s,
served as production serves it (its gunicorn settings, a Celery worker grouping beside).

Each report has 200 scenarios, 10% failing with evidence rows; some clients re-post a report
they already sent (as a CI retry would). Afterwards the database is checked: every report
answered 2xx is stored exactly once with all its rows, and none answered otherwise exists.
With --restart-postgres the run uses a throwaway PostgreSQL cluster of its own (pg_ctl, another
port) and restarts it in the middle: answers during the outage must be 503 with Retry-After.
Last line: `<n> reports/s; p99 <ms> ms; lost <n>; duplicated <n>`.

Usage: python bench/load.py [--clients 6] [--seconds 60] [--restart-postgres]
"""

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pg_bin() -> Path:
    """PostgreSQL's server programs: PG_BIN, else Debian's versioned folders, newest first."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return found[-1] if found else Path("/usr/bin")


PG_BIN = _pg_bin()
SCENARIOS = 200
FAILING_EVERY = 10
# Searchable values per failure: orgId and assignmentId, and the ids in its evidence rows
# (n-0 … n-4 and org-b; org-a is the orgId already).
ENTITY_IDS = 2 + 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayPostgres:
    """A PostgreSQL cluster this script creates, restarts and removes; never the machine's."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="triage-load-pg-"))
        shutil.chown(self.dir, "postgres")
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.dir / "data"), "-A", "trust",
                           "-U", "postgres"])  # fmt: skip
        self.start()

    def _as_postgres(self, command: list[str]) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + command, check=True, capture_output=True, timeout=120)

    def _ctl(self, action: str) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-w", "-m",
                           "fast", "-l", str(self.dir / "log"), "-o",
                           f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
                           action])  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/triage_bench_load"

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def report_body(run_id: str, rng: random.Random) -> bytes:
    scenarios = []
    for n in range(SCENARIOS):
        scenario = {"scenarioId": f"LOAD-{n:03d}", "status": "passed",
                    "durationMs": rng.randint(100, 9000), "title": f"scenario {n}"}  # fmt: skip
        if n % FAILING_EVERY == 0:
            scenario["status"] = "failed"
            scenario["failures"] = [{
                "invariantId": f"TENANT-{n % 7:03d}", "organizationUnderTest": "org-a",
                "keyEntityIds": {"orgId": "org-a", "assignmentId": f"asg-{rng.randint(1, 10**6)}"},
                "message": "notification reached another org",
                "evidence": [{"label": "rows", "rows": [
                    {"id": f"n-{i}", "org_id": "org-b" if i == 4 else "org-a"} for i in range(5)]}],
            }]  # fmt: skip
        scenarios.append(scenario)
    return json.dumps({
        "run": {"id": run_id, "suite": "smoke", "branch": "main", "commit": uuid.uuid4().hex[:9],
                "startedAt": "2026-11-20T02:00:00Z", "finishedAt": "2026-11-20T02:05:00Z"},
        "scenarios": scenarios,
    }).encode()  # fmt: skip


def use_app_models(env: dict[str, str]) -> None:
    """Django in this process, on the server's database, to read what it stored."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def stored_counts(env: dict[str, str]) -> dict[str, list[int]]:
    """run id -> [runs, results, failures, searchable values], read with the app's own models."""
    use_app_models(env)
    from django.db.models import Count

    from runs.models import FailureEntity, InvariantFailure, Run, ScenarioResult

    def per_run(model: type, path: str = "run__external_id") -> dict[str, int]:
        return dict(model.objects.values_list(path).annotate(count=Count("id")))

    results, failures = per_run(ScenarioResult), per_run(InvariantFailure)
    entities = per_run(FailureEntity, "failure__run__external_id")
    runs = Run.objects.values("external_id").annotate(count=Count("id"))
    return {
        row["external_id"]: [row["count"], results.get(row["external_id"], 0),
                             failures.get(row["external_id"], 0),
                             entities.get(row["external_id"], 0)]
        for row in runs
    }  # fmt: skip


def wait_for_grouping(env: dict[str, str], limit: float = 120) -> tuple[tuple[int, int], float]:
    """((runs grouped, runs stored), seconds waited) once the worker has caught up, or at the
    limit: a follow-up that met the PostgreSQL outage is the periodic sweep's, which runs
    beside the workers in production (beat), not here."""
    use_app_models(env)
    from defects.models import TriagedRun
    from runs.models import Run

    began = time.monotonic()
    while True:
        grouped, stored = TriagedRun.objects.count(), Run.objects.count()
        waited = time.monotonic() - began
        if grouped >= stored or waited > limit:
            return (grouped, stored), waited
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--repost-share", type=float, default=0.1)
    parser.add_argument("--restart-postgres", action="store_true")
    args = parser.parse_args()

    cluster = ThrowawayPostgres() if args.restart_postgres else None
    database_url = (
        cluster.url
        if cluster
        else os.environ.get(
            "LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/triage_bench_load"
        )
    )
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "triage.settings",
           "SECRET_KEY": "load-only-not-a-secret", "SECURE_SSL_REDIRECT": "false",
           "STATIC_FROM_SOURCE": "true", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
           "DB_CONN_MAX_AGE": "60",
           # As production runs: grouping follows each answer in a Celery worker beside.
           "REDIS_URL": os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11"),
           "CELERY_QUEUE": "triage-bench-load"}  # fmt: skip
    python = str(Path(sys.executable))
    setup = (
        "import psycopg, os, urllib.parse as p\n"
        "u = p.urlsplit(os.environ['DATABASE_URL']); name = u.path.lstrip('/')\n"
        "assert name.startswith('triage_bench'), name\n"
        "with psycopg.connect(u._replace(path='/postgres').geturl(), autocommit=True) as c:\n"
        "    c.execute(f'DROP DATABASE IF EXISTS \"{name}\"')\n"
        "    c.execute(f'CREATE DATABASE \"{name}\"')\n"
    )  # fmt: skip
    subprocess.run([python, "-c", setup], env=env, check=True, timeout=120)
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True,
                   timeout=300)  # fmt: skip
    created = subprocess.run([python, "manage.py", "createproject", "load"], cwd=ROOT, env=env,
                             check=True, capture_output=True, text=True, timeout=120)  # fmt: skip
    token = created.stdout.strip().splitlines()[-1]
    port = free_port()
    celery = str(Path(python).parent / "celery")
    subprocess.run([celery, "-A", "triage", "purge", "-f", "-Q", env["CELERY_QUEUE"]],
                   cwd=ROOT, env=env, capture_output=True, timeout=60)  # fmt: skip
    server = subprocess.Popen(
        [str(Path(python).parent / "gunicorn"), "triage.wsgi", "-c", "python:triage.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60",
         "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [celery, "-A", "triage", "worker", "-Q", env["CELERY_QUEUE"],
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1/projects/load/runs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.2)

    answers: list[tuple[str, int, float]] = []
    unavailable: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def client(number: int) -> None:
        rng = random.Random(number)
        sent: list[tuple[str, bytes]] = []
        while time.monotonic() < stop_at:
            if sent and rng.random() < args.repost_share:
                run_id, body = rng.choice(sent)
            else:
                run_id = f"load-{number}-{uuid.uuid4().hex[:12]}"
                body = report_body(run_id, rng)
                sent.append((run_id, body))
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            request = urllib.request.Request(url, data=body, method="POST", headers=headers)
            began = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
                if status == 503:
                    with lock:
                        unavailable.append((status, error.headers.get("Retry-After")))
            except OSError:
                status = 0
            with lock:
                answers.append((run_id, status, (time.perf_counter() - began) * 1000))

    def outage() -> None:
        time.sleep(args.seconds / 3)
        cluster.stop()
        time.sleep(min(5.0, args.seconds / 6))
        cluster.start()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    if cluster:
        threads.append(threading.Thread(target=outage))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)
    try:
        grouped, grouping_seconds = wait_for_grouping(env)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)

    ok = {run_id for run_id, status, _ in answers if 200 <= status < 300}
    refused = {run_id for run_id, status, _ in answers if status >= 400} - ok
    unanswered = {run_id for run_id, status, _ in answers if status == 0} - ok - refused
    stored = stored_counts(env)
    if cluster:
        cluster.remove()
    failing = SCENARIOS // FAILING_EVERY
    expected = [1, SCENARIOS, failing, failing * ENTITY_IDS]
    # Lost: answered 2xx but missing or short of rows. Duplicated: more rows than one report
    # has (the unique run id already makes a second run row impossible).
    lost = sum(
        1
        for run_id in ok
        if any(
            got < want for got, want in zip(stored.get(run_id, [0, 0, 0, 0]), expected, strict=True)
        )
    )
    duplicated = sum(1 for counts in stored.values() if any(
        got > want for got, want in zip(counts, expected, strict=True)))  # fmt: skip
    stored_refused = sum(1 for run_id in refused if run_id in stored)
    stored_unanswered = sum(1 for run_id in unanswered if run_id in stored)
    # Every answer counts toward latency, errors included; a request with no answer took
    # at least its timeout.
    latencies = sorted(ms for _, status, ms in answers)
    statuses: dict[int, int] = {}
    for _, status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    accepted = sum(count for status, count in statuses.items() if 200 <= status < 300)

    def pct(share: float) -> float:
        """Nearest-rank percentile."""
        if not latencies:
            return 0.0
        return latencies[max(0, math.ceil(share * len(latencies)) - 1)]

    by_status = dict(sorted(statuses.items()))
    print(f"clients {args.clients}, {elapsed:.0f} s, answers by status {by_status} (0: no answer)")
    print(f"latency over all answers: p50 {pct(0.5):.0f} ms, p95 {pct(0.95):.0f} ms, "
          f"p99 {pct(0.99):.0f} ms")  # fmt: skip
    if cluster:
        retry_after = sum(1 for _, header in unavailable if header)
        server_errors = sum(c for status, c in statuses.items() if status >= 500 and status != 503)
        print(f"during the outage: {len(unavailable)} answers were 503, {retry_after} with "
              f"Retry-After; {server_errors} were other 5xx")  # fmt: skip
    print(f"refused but stored anyway: {stored_refused}; unanswered, stored complete: "
          f"{stored_unanswered} of {len(unanswered)}")  # fmt: skip
    print(f"grouped by the worker: {grouped[0]} of {grouped[1]} runs, {grouping_seconds:.1f} s "
          "after the last answer")  # fmt: skip
    print(f"{accepted / elapsed:.1f} reports/s; p99 {pct(0.99):.0f} ms; lost {lost}; "
          f"duplicated {duplicated}")  # fmt: skip


if __name__ == "__main__":
    main()
