"""Page speed at scale: every dashboard page at 1x and at 5x the history, against the framework
floor, in PostgreSQL.

1x is 2,000 runs x 2,000 scenario results (4M rows), 5x is 10,000 runs (20M rows, five times the
days of history); each lives in its own database, loaded with COPY once and kept between runs
(--reload loads again). Each scale is measured in a process of its own: the floor (an empty
logged-in page through the same middleware and base template) and every page are requested in
alternating rounds through Django (server time, no network; sessions and kept fragments in Redis,
as production keeps them), and the bare SQL of each page's most expensive query is timed beside.
Prints a table per scale and, last,
`worst ratio X; most queries N` (slowest page p95 / floor p95, at 1x) and
`growth X` (slowest page p95 at 5x / at 1x).

Usage: python bench/pages.py [--scales 1 5] [--reload]
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from benchenv import configure, empty_bench_database, next_ids, open_bench_database, percentile

if TYPE_CHECKING:
    from django.test import Client

DATABASE = "triage_bench_pages"

BASE_RUNS = 2000
RESULTS_PER_RUN = 2000
RUNS_PER_DAY = 10
FAILURE_RATE = 0.01
ROUNDS = 20
AREAS = ("SCH", "BID", "NOS", "HLT", "API", "UI", "ADV")
INVARIANTS = ("TENANT", "IDEMP", "NOTIF", "ASSIGN", "STATE")
# Failure reasons as the reader makes them; the first is an outage-sized cause most share.
REASONS = (
    "notification reached another org",
    "expected <n> winner, found <n>",
    "timed out after <n> ms waiting for <url>",
    "assignment <assignmentId> stayed pending",
    "duplicate charge for order <uuid>",
    "state moved from <quoted> to <quoted> without an event",
)


def database_for(scale: int) -> str:
    return DATABASE if scale == 1 else f"{DATABASE}_x{scale}"


def load_history(runs_count: int) -> None:
    """COPY a realistic history: nightly full runs on main, smoke runs on PR branches, ten runs
    a day, the last of them today."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from runs.models import FailureReason, Project, Suite
    from runs.projects import membership_grant
    from runs.reasons import reason_key
    from runs.rollups import rollups_recount
    from runs.tallies import tallies_recount

    rng = random.Random(7)
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The rows are consistent by construction: checking each foreign key of 20M rows
            # at commit would take longer than writing them.
            cursor.execute("SET LOCAL session_replication_role = replica")
        project = Project.objects.create(slug="bench", name="Bench")
        user = User.objects.create_user("bench", password="bench-password-1")  # noqa: S106
        membership_grant(project=project, user=user)
        suites = {
            "full": Suite.objects.create(project=project, name="full", budget_minutes=35),
            "smoke": Suite.objects.create(project=project, name="smoke", budget_minutes=10),
        }
        reason_ids = [
            FailureReason.objects.create(project=project, key=reason_key(text), text=text).pk
            for text in REASONS
        ]
        keys = [f"{AREAS[n % 7]}-{n:04d}" for n in range(RESULTS_PER_RUN + 10)]
        invariant_keys = [f"{kind}-{n:03d}" for kind in INVARIANTS for n in range(1, 21)]
        with connection.cursor() as django_cursor:
            cursor = django_cursor.cursor
            scenario_ids = next_ids(cursor, "runs_scenario", len(keys))
            with cursor.copy(
                "COPY runs_scenario (id, project_id, key, area, title, file) FROM STDIN"
            ) as copy:
                for sid, key in zip(scenario_ids, keys, strict=True):
                    copy.write_row(
                        (
                            sid,
                            project.pk,
                            key,
                            key[:3].rstrip("-"),
                            f"{key} keeps its invariants",
                            f"tests/{key}.test.ts",
                        )
                    )
            invariant_ids = next_ids(cursor, "runs_invariant", len(invariant_keys))
            with cursor.copy("COPY runs_invariant (id, project_id, key, kind) FROM STDIN") as copy:
                for iid, key in zip(invariant_ids, invariant_keys, strict=True):
                    copy.write_row((iid, project.pk, key, key.split("-")[0]))
            run_ids = next_ids(cursor, "runs_run", runs_count)
            result_ids = next_ids(cursor, "runs_scenarioresult", runs_count * RESULTS_PER_RUN)
            first_day = datetime.now(UTC) - timedelta(days=runs_count // RUNS_PER_DAY)
            runs = []
            for index, run_id in enumerate(run_ids):
                day, slot = divmod(index, RUNS_PER_DAY)
                full = slot == 0
                start = first_day + timedelta(days=day, hours=2 if full else 8 + slot)
                runs.append(
                    (
                        run_id,
                        "full" if full else "smoke",
                        start,
                        "main" if full else f"feature/pr-{index}",
                        f"{index:07x}",
                    )
                )
            failures = []
            with cursor.copy(
                "COPY runs_scenarioresult (id, project_id, run_id, scenario_id, position, status, "
                "duration_ms, attempt, title, file, diagnostics_gap, started_at) FROM STDIN"
            ) as copy:
                counts, area_counts = {}, {}
                for run_index, (run_id, _, start, _, _) in enumerate(runs):
                    failed = 0
                    # What ingest keeps on the run: results per area and status.
                    per_area: dict[str, dict[str, int]] = {}
                    base = run_index * RESULTS_PER_RUN
                    for position in range(RESULTS_PER_RUN):
                        # The latest smoke run carries scenarios full never ran.
                        scenario_index = position + (10 if run_index == runs_count - 1 else 0)
                        roll = rng.random()
                        status = "failed" if roll < FAILURE_RATE else "passed"
                        gap = status == "failed" and roll < FAILURE_RATE / 20
                        rid = result_ids[base + position]
                        per_status = per_area.setdefault(AREAS[scenario_index % 7], {})
                        per_status[status] = per_status.get(status, 0) + 1
                        if status == "failed":
                            failed += 1
                            failures.append((rid, run_id, scenario_ids[scenario_index], start, gap))
                        copy.write_row(
                            (
                                rid,
                                project.pk,
                                run_id,
                                scenario_ids[scenario_index],
                                position,
                                status,
                                rng.randint(800, 20000),
                                1,
                                "",
                                "",
                                gap,
                                start,
                            )
                        )
                    counts[run_id] = failed
                    area_counts[run_id] = json.dumps(per_area)
            with cursor.copy(
                "COPY runs_run (id, project_id, suite_id, external_id, ci_url, branch, commit, "
                "trigger, started_at, finished_at, duration_ms, rerun_of_external_id, status, "
                "passed_count, failed_count, skipped_count, error_count, diagnostics_gap_count, "
                "content_sha256, received_at, rerun_token, flaky_count, area_counts) FROM STDIN"
            ) as copy:
                for run_id, suite, start, branch, commit in runs:
                    minutes = rng.uniform(28, 37) if suite == "full" else rng.uniform(7, 12)
                    failed = counts[run_id]
                    copy.write_row(
                        (
                            run_id,
                            project.pk,
                            suites[suite].pk,
                            f"{suite}-{run_id}",
                            "https://ci.example.test/r",
                            branch,
                            commit,
                            "schedule",
                            start,
                            start + timedelta(minutes=minutes),
                            int(minutes * 60_000),
                            "",
                            "failed" if failed else "passed",
                            RESULTS_PER_RUN - failed,
                            failed,
                            0,
                            0,
                            0,
                            "",
                            start,
                            "",
                            0,
                            area_counts[run_id],
                        )
                    )
            failure_ids = next_ids(cursor, "runs_invariantfailure", len(failures))
            evidence = json.dumps(
                [
                    {
                        "label": "rows",
                        "rows": [
                            {"id": "n-1", "org_id": "org-a"},
                            {"id": "n-2", "org_id": "org-b"},
                        ],
                    }
                ]
            )
            with cursor.copy(
                "COPY runs_invariantfailure (id, result_id, run_id, project_id, scenario_id, "
                "started_at, invariant_id, position, organization_under_test, key_entity_ids, "
                "message, expected, observed, artifacts, evidence, reason_id) FROM STDIN"
            ) as copy:
                entities = []
                for fid, (rid, run_id, sid, start, gap) in zip(failure_ids, failures, strict=True):
                    entity = {"orgId": "org-a", "assignmentId": f"asg-{fid % 5000}"}
                    entities.append((fid, start, entity))
                    reason = min(int(rng.expovariate(1.2)), len(REASONS) - 1)
                    copy.write_row(
                        (
                            fid,
                            rid,
                            run_id,
                            project.pk,
                            sid,
                            start,
                            None if gap else rng.choice(invariant_ids),
                            0,
                            "org-a",
                            json.dumps(entity),
                            REASONS[reason].replace("<n>", str(fid % 7)),
                            "only org-a",
                            "org-b present",
                            "[]",
                            evidence,
                            reason_ids[reason],
                        )
                    )
            with cursor.copy(
                "COPY runs_failureentity (project_id, failure_id, name, value, started_at) "
                "FROM STDIN"
            ) as copy:
                for fid, start, entity in entities:
                    for name, value in entity.items():
                        copy.write_row((project.pk, fid, name, value, start))
            # Some failures passed on a rerun of the same commit: flakes.
            with cursor.copy(
                "COPY runs_scenarioflake (project_id, scenario_id, commit, failed_run_id, "
                "passed_run_id, detected_at) FROM STDIN"
            ) as copy:
                seen = set()
                for _, run_id, sid, start, _ in failures[::40]:
                    if sid not in seen:
                        seen.add(sid)
                        copy.write_row((project.pk, sid, "abc", run_id, run_id, start))
        # The rows went around ingest, so its tallies and rollups are counted from them.
        tallies_recount(project.pk)
        rollups_recount(project.pk)
    print(
        f"loaded {runs_count} runs x {RESULTS_PER_RUN} results, {len(failures)} failures "
        f"in {time.perf_counter() - started:.0f} s"
    )


# The run page again with its kept fragments dropped before each request: its first view.
FIRST_VIEW = "run page, first view"


def fragments_dropped(client: "Client") -> None:
    """The cache emptied, then the person's session read back into it, as it is for anyone
    who has opened a page since."""
    from django.core.cache import cache

    cache.clear()
    client.session.load()


def floor_urls() -> types.ModuleType:
    """The project's routes plus the floor: an empty page in the base layout, logged in."""
    from django.contrib.auth.decorators import login_required
    from django.shortcuts import render
    from django.urls import path

    from triage import urls

    module = types.ModuleType("bench_floor_urls")
    module.urlpatterns = [
        path("bench/floor/", login_required(lambda request: render(request, "base.html"))),
        *urls.urlpatterns,
    ]
    return module


def page_urls() -> dict[str, str]:
    from runs.models import FailureReason, Project, Run

    project = Project.objects.get(slug="bench")
    outage = FailureReason.objects.get(project=project, text=REASONS[0])
    latest_full = Run.objects.filter(project=project, suite__name="full").order_by("-started_at")[0]
    failing = (
        Run.objects.filter(project=project, failed_count__gt=0).order_by("-started_at").first()
    )
    return {
        "floor": "/bench/floor/",
        "projects home": "/",
        "overview 30d": "/p/bench/",
        "overview 90d": "/p/bench/?days=90",
        "run list": "/p/bench/runs/",
        "run list filtered": "/p/bench/runs/?suite=full&status=failed&q=full",
        "run list page 30": "/p/bench/runs/?page=30",
        "run page": f"/p/bench/runs/{failing.pk}/",
        FIRST_VIEW: f"/p/bench/runs/{failing.pk}/",
        "compare": f"/p/bench/runs/{latest_full.pk}/compare/",
        "scenario": "/p/bench/scenarios/BID-0001/",
        "invariant": "/p/bench/invariants/TENANT-001/",
        "search entity": "/p/bench/search/?q=asg-311",
        "search common id": "/p/bench/search/?q=org-a",
        "search scenario": "/p/bench/search/?q=BID-000",
        "search reason words": "/p/bench/search/?q=winner",
        "reason": f"/p/bench/reasons/{outage.pk}/",
    }


def measure(scale: int) -> dict[str, object]:
    """Time every page (and the floor) in alternating rounds; print a table; return figures."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from runs.models import Run
    from triage.worker_gc import worker_gc_tuned

    pages = page_urls()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="bench"))
    timings: dict[str, list[float]] = {name: [] for name in pages}
    with override_settings(ROOT_URLCONF=floor_urls()):
        # As a gunicorn worker of Triage runs (triage/gunicorn_conf.py): app loaded, no request
        # served yet, the collector tuned.
        worker_gc_tuned()
        for url in pages.values():
            for _ in range(2):
                assert client.get(url).status_code == 200, url
        # Rounds alternate the pages, so a noisy moment on the machine touches them all alike.
        for _ in range(ROUNDS):
            for name, url in pages.items():
                if name == FIRST_VIEW:
                    fragments_dropped(client)
                begin = time.perf_counter()
                response = client.get(url)
                timings[name].append((time.perf_counter() - begin) * 1000)
                assert response.status_code == 200, url
        rows = []
        for name, url in pages.items():
            if name == FIRST_VIEW:
                fragments_dropped(client)
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            sql_ms = 0.0
            if queries.captured_queries:
                slowest = max(queries.captured_queries, key=lambda query: float(query["time"]))
                sql_timings = []
                with connection.cursor() as cursor:
                    for _ in range(ROUNDS):
                        begin = time.perf_counter()
                        cursor.execute(slowest["sql"])
                        cursor.fetchall()
                        sql_timings.append((time.perf_counter() - begin) * 1000)
                sql_ms = statistics.median(sql_timings)
            rows.append(
                (
                    name,
                    statistics.median(timings[name]),
                    percentile(timings[name], 0.95),
                    len(queries),
                    sql_ms,
                )
            )
    print(f"history x{scale}: {Run.objects.count()} runs")
    print(f"{'page':20} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'main SQL p50 ms':>16}")
    for name, p50, p95, count, sql_ms in rows:
        print(f"{name:20} {p50:8.1f} {p95:8.1f} {count:8d} {sql_ms:16.1f}")
    pages_only = [row for row in rows if row[0] != "floor"]
    slowest = max(pages_only, key=lambda row: row[2])
    return {
        "p50": {row[0]: row[1] for row in rows},
        "p95": {row[0]: row[2] for row in rows},
        "worst_p95": slowest[2],
        "worst_page": slowest[0],
        "most_queries": max(row[3] for row in pages_only),
    }


def measure_one_scale(scale: int, reload: bool, figures_path: str) -> None:
    # Each scale keeps its own database, on the server DATABASE_URL names if it is set.
    if "DATABASE_URL" in os.environ:
        server = urlparse(os.environ["DATABASE_URL"])
        os.environ["DATABASE_URL"] = server._replace(path=f"/{database_for(scale)}").geturl()
    # As production runs with Redis: sessions and kept fragments in the shared cache.
    configure(database_for(scale), CACHE_URL="redis://127.0.0.1:6379/12")
    open_bench_database(empty=False)
    from django.db import connection

    from runs.models import Project

    if reload or not Project.objects.filter(slug="bench").exists():
        empty_bench_database()
        load_history(BASE_RUNS * scale)
    with connection.cursor() as cursor:
        # As autovacuum leaves a database in use, after a load and after a migration alike:
        # visibility known, so that index-only scans need not visit the table.
        cursor.execute("VACUUM (ANALYZE)")
    figures = measure(scale)
    with open(figures_path, "w") as out:
        json.dump(figures, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--reload", action="store_true", help="drop and load the history again")
    parser.add_argument("--one-scale", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--figures", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_scale:
        measure_one_scale(args.one_scale, args.reload, args.figures)
        return
    figures = {}
    for scale in args.scales:
        handle, path = tempfile.mkstemp(suffix=".json", prefix=f"bench-pages-x{scale}-")
        os.close(handle)
        command = [sys.executable, __file__, "--one-scale", str(scale), "--figures", path]
        subprocess.run([*command, *(["--reload"] if args.reload else [])], check=True)
        with open(path) as saved:
            figures[scale] = json.load(saved)
        os.unlink(path)
    first, last = figures[min(figures)], figures[max(figures)]
    if len(figures) > 1:
        small, large = f"x{min(figures)}", f"x{max(figures)}"
        print(
            f"{'page':20} {'p50 ' + small:>9} {'p50 ' + large:>9} {'growth':>7} "
            f"{'p95 ' + small:>9} {'p95 ' + large:>9} {'growth':>7}"
        )
        for name in first["p95"]:
            cells = []
            for measure in ("p50", "p95"):
                before, after = first[measure][name], last[measure][name]
                cells.append(f"{before:9.1f} {after:9.1f} {after / before:7.2f}")
            print(f"{name:20} {' '.join(cells)}")
    print(
        f"floor p95 {first['p95']['floor']:.1f} ms; slowest page {first['worst_page']} "
        f"p95 {first['worst_p95']:.0f} ms"
    )
    print(
        f"worst ratio {first['worst_p95'] / first['p95']['floor']:.1f}; "
        f"most queries {max(scale_figures['most_queries'] for scale_figures in figures.values())}"
    )
    if len(figures) > 1:
        print(f"growth {last['worst_p95'] / first['worst_p95']:.2f}")


if __name__ == "__main__":
    main()
