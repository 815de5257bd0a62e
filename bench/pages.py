"""Page speed at scale: 2,000 runs x 2,000 scenario results (4M rows) in PostgreSQL.

Loads the history with COPY (once; kept between runs unless --reload), then requests each
dashboard page 20 times through Django (server time, no network) and, in the same run, times
the bare SQL of the page's most expensive query. Prints a row per page and, last,
`worst p95 <ms> ms; most queries <n>`.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench_pages python bench/pages.py
"""

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchenv import configure, empty_bench_database, next_ids, open_bench_database, percentile

configure("triage_bench_pages")

RUNS = 2000
RESULTS_PER_RUN = 2000
RUNS_PER_DAY = 10
FAILURE_RATE = 0.01
REQUESTS = 20
AREAS = ("SCH", "BID", "NOS", "HLT", "API", "UI", "ADV")
INVARIANTS = ("TENANT", "IDEMP", "NOTIF", "ASSIGN", "STATE")


def load_history() -> None:
    """COPY a realistic history: nightly full runs on main, smoke runs on PR branches."""
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from runs.models import Project, Suite
    from runs.projects import membership_grant

    rng = random.Random(7)
    started = time.perf_counter()
    with transaction.atomic():
        project = Project.objects.create(slug="bench", name="Bench")
        user = User.objects.create_user("bench", password="bench-password-1")  # noqa: S106
        membership_grant(project=project, user=user)
        suites = {
            "full": Suite.objects.create(project=project, name="full", budget_minutes=35),
            "smoke": Suite.objects.create(project=project, name="smoke", budget_minutes=10),
        }
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
            run_ids = next_ids(cursor, "runs_run", RUNS)
            result_ids = next_ids(cursor, "runs_scenarioresult", RUNS * RESULTS_PER_RUN)
            first_day = datetime.now(UTC) - timedelta(days=RUNS // RUNS_PER_DAY)
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
                counts = {}
                for run_index, (run_id, _, start, _, _) in enumerate(runs):
                    failed = 0
                    base = run_index * RESULTS_PER_RUN
                    for position in range(RESULTS_PER_RUN):
                        # The latest smoke run carries scenarios full never ran.
                        scenario_index = position + (10 if run_index == RUNS - 1 else 0)
                        roll = rng.random()
                        status = "failed" if roll < FAILURE_RATE else "passed"
                        gap = status == "failed" and roll < FAILURE_RATE / 20
                        rid = result_ids[base + position]
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
            with cursor.copy(
                "COPY runs_run (id, project_id, suite_id, external_id, ci_url, branch, commit, "
                "trigger, started_at, finished_at, duration_ms, rerun_of_external_id, status, "
                "passed_count, failed_count, skipped_count, error_count, diagnostics_gap_count, "
                "content_sha256, received_at, rerun_token) FROM STDIN"
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
                "message, expected, observed, artifacts, evidence) FROM STDIN"
            ) as copy:
                entities = []
                for fid, (rid, run_id, sid, start, gap) in zip(failure_ids, failures, strict=True):
                    entity = {"orgId": "org-a", "assignmentId": f"asg-{fid % 5000}"}
                    entities.append((fid, start, entity))
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
                            "notification reached another org",
                            "only org-a",
                            "org-b present",
                            "[]",
                            evidence,
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
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"loaded {RUNS} runs x {RESULTS_PER_RUN} results, {len(failures)} failures "
        f"in {time.perf_counter() - started:.0f} s"
    )


def measure() -> None:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from runs.models import Project, Run

    project = Project.objects.get(slug="bench")
    latest_full = Run.objects.filter(project=project, suite__name="full").order_by("-started_at")[0]
    failing = (
        Run.objects.filter(project=project, failed_count__gt=0).order_by("-started_at").first()
    )
    pages = {
        "projects home": "/",
        "overview 30d": "/p/bench/",
        "overview 90d": "/p/bench/?days=90",
        "run list": "/p/bench/runs/",
        "run list filtered": "/p/bench/runs/?suite=full&status=failed&q=full",
        "run list page 30": "/p/bench/runs/?page=30",
        "run page": f"/p/bench/runs/{failing.pk}/",
        "compare": f"/p/bench/runs/{latest_full.pk}/compare/",
        "scenario": "/p/bench/scenarios/BID-0001/",
        "invariant": "/p/bench/invariants/TENANT-001/",
        "search entity": "/p/bench/search/?q=asg-311",
        "search common id": "/p/bench/search/?q=org-a",
        "search scenario": "/p/bench/search/?q=BID-000",
    }
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="bench"))
    worst_p95 = 0.0
    most_queries = 0
    print(f"{'page':20} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'main SQL p50 ms':>16}")
    for name, url in pages.items():
        for _ in range(2):
            assert client.get(url).status_code == 200, url
        timings = []
        for _ in range(REQUESTS):
            begin = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        slowest = max(queries.captured_queries, key=lambda query: float(query["time"]))
        sql_timings = []
        with connection.cursor() as cursor:
            for _ in range(REQUESTS):
                begin = time.perf_counter()
                cursor.execute(slowest["sql"])
                cursor.fetchall()
                sql_timings.append((time.perf_counter() - begin) * 1000)
        p50, p95 = statistics.median(timings), percentile(timings, 0.95)
        worst_p95 = max(worst_p95, p95)
        most_queries = max(most_queries, len(queries))
        print(
            f"{name:20} {p50:8.1f} {p95:8.1f} {len(queries):8d} "
            f"{statistics.median(sql_timings):16.1f}"
        )
    print(f"worst p95 {worst_p95:.0f} ms; most queries {most_queries}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reload", action="store_true", help="drop and load the history again")
    args = parser.parse_args()
    open_bench_database(empty=False)
    from runs.models import Project

    if args.reload or not Project.objects.filter(slug="bench").exists():
        empty_bench_database()
        load_history()
    measure()


if __name__ == "__main__":
    main()
