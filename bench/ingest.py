"""Ingest speed against the physical limit.

Ingests, through the webhook's own code path (parse + validate + insert), a report of 10,000
scenarios and 500 invariant failures with 5 evidence rows each into PostgreSQL; then, in the same
run, parses the same report and COPYs the same rows into the same tables (the limit); then, for
reference, stores it with one ORM save per row. Last line: `ratio <ours / COPY>`.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench python bench/ingest.py
The database is created if missing and its run tables are emptied first.
"""

import json
import os
import statistics
import time

from benchenv import configure, ensure_database, next_ids

configure("triage_bench")

SCENARIOS = 10_000
FAILURES = 500
EVIDENCE_ROWS = 5
REPEATS = 3


def build_report(run_id: str) -> bytes:
    every = SCENARIOS // FAILURES
    scenarios = []
    for n in range(SCENARIOS):
        area = ("SCH", "BID", "NOS", "HLT", "API", "UI", "ADV")[n % 7]
        scenario = {
            "scenarioId": f"{area}-{n:05d}",
            "title": f"scenario {n} keeps its invariants",
            "status": "passed",
            "durationMs": 1000 + n % 5000,
            "file": f"tests/integration/{area.lower()}/{area}-{n:05d}.test.ts",
            "attempt": 1,
        }
        if n % every == 0:
            scenario["status"] = "failed"
            scenario["failures"] = [
                {
                    "invariantId": f"TENANT-{n % 40:03d}",
                    "organizationUnderTest": "org-a",
                    "keyEntityIds": {"orgId": "org-a", "bidWindowId": f"bw-{n}"},
                    "message": "notification reached a driver of another org",
                    "expected": "only org-a",
                    "observed": "org-b present",
                    "evidence": [
                        {
                            "label": f"notifications for bw-{n}",
                            "rows": [
                                {
                                    "id": f"n-{n}-{r}",
                                    "org_id": "org-b" if r == 4 else "org-a",
                                    "user_id": f"drv-{r}",
                                    "type": "bid_open",
                                }
                                for r in range(EVIDENCE_ROWS)
                            ],
                        }
                    ],
                    "artifacts": [f"ci-artifacts/{n}/report.json"],
                }
            ]
        scenarios.append(scenario)
    report = {
        "run": {
            "id": run_id,
            "suite": "full",
            "branch": "main",
            "commit": "9f1c2e7",
            "url": "https://ci.example.test/runs/1",
            "trigger": "schedule",
            "startedAt": "2026-11-20T02:00:00Z",
            "finishedAt": "2026-11-20T02:31:00Z",
        },
        "scenarios": scenarios,
    }
    return json.dumps(report).encode()


def time_ours(body: bytes, slug: str) -> float:
    from runs.ingest import run_ingest
    from runs.projects import project_create
    from runs.schema import report_parse

    project, _ = project_create(slug=slug, name=slug)
    started = time.perf_counter()
    run_ingest(project=project, report=report_parse(body))
    return time.perf_counter() - started


def time_copy(body: bytes, slug: str) -> float:
    """Parse the same report and COPY the same rows into the same tables."""
    from django.db import connection, transaction

    from runs.models import Project, Suite

    project = Project.objects.create(slug=slug, name=slug)
    started = time.perf_counter()
    report = json.loads(body)
    run = report["run"]
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        suite = Suite.objects.create(project=project, name=run["suite"], budget_minutes=35)
        run_id = cursor.execute(
            "INSERT INTO runs_run (project_id, suite_id, external_id, ci_url, branch, commit, "
            "trigger, started_at, finished_at, duration_ms, rerun_of_external_id, status, "
            "passed_count, failed_count, skipped_count, error_count, diagnostics_gap_count, "
            "content_sha256, received_at, rerun_token) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', "
            "'failed', 0, 0, 0, 0, 0, '', now(), '') RETURNING id",
            [
                project.pk,
                suite.pk,
                run["id"],
                run["url"],
                run["branch"],
                run["commit"],
                run["trigger"],
                run["startedAt"],
                run["finishedAt"],
            ],
        ).fetchone()[0]
        scenarios = report["scenarios"]
        scenario_ids = next_ids(cursor, "runs_scenario", len(scenarios))
        with cursor.copy(
            "COPY runs_scenario (id, project_id, key, area, title, file) FROM STDIN"
        ) as copy:
            for sid, s in zip(scenario_ids, scenarios, strict=True):
                copy.write_row(
                    (sid, project.pk, s["scenarioId"], s["scenarioId"][:3], s["title"], s["file"])
                )
        invariant_keys = sorted(
            {f["invariantId"] for s in scenarios for f in s.get("failures", [])}
        )
        invariant_ids = dict(
            zip(
                invariant_keys, next_ids(cursor, "runs_invariant", len(invariant_keys)), strict=True
            )
        )
        with cursor.copy("COPY runs_invariant (id, project_id, key, kind) FROM STDIN") as copy:
            for key, iid in invariant_ids.items():
                copy.write_row((iid, project.pk, key, key.split("-")[0]))
        result_ids = next_ids(cursor, "runs_scenarioresult", len(scenarios))
        with cursor.copy(
            "COPY runs_scenarioresult (id, project_id, run_id, scenario_id, position, status, "
            "duration_ms, attempt, title, file, diagnostics_gap, started_at) FROM STDIN"
        ) as copy:
            for position, (rid, sid, s) in enumerate(
                zip(result_ids, scenario_ids, scenarios, strict=True)
            ):
                copy.write_row(
                    (rid, project.pk, run_id, sid, position, s["status"], s["durationMs"],
                     s["attempt"], s["title"], s["file"], False, run["startedAt"])
                )  # fmt: skip
        failures = [
            (rid, sid, position, f)
            for rid, sid, s in zip(result_ids, scenario_ids, scenarios, strict=True)
            for position, f in enumerate(s.get("failures", []))
        ]
        failure_ids = next_ids(cursor, "runs_invariantfailure", len(failures))
        with cursor.copy(
            "COPY runs_invariantfailure (id, result_id, run_id, project_id, scenario_id, "
            "started_at, invariant_id, position, organization_under_test, key_entity_ids, "
            "message, expected, observed, artifacts, evidence) FROM STDIN"
        ) as copy:
            for fid, (rid, sid, position, f) in zip(failure_ids, failures, strict=True):
                copy.write_row(
                    (fid, rid, run_id, project.pk, sid, run["startedAt"],
                     invariant_ids[f["invariantId"]], position, f["organizationUnderTest"],
                     json.dumps(f["keyEntityIds"]), f["message"], f["expected"], f["observed"],
                     json.dumps(f["artifacts"]), json.dumps(f["evidence"]))
                )  # fmt: skip
        with cursor.copy(
            "COPY runs_failureentity (project_id, failure_id, name, value, started_at) FROM STDIN"
        ) as copy:
            for fid, (_, _, _, f) in zip(failure_ids, failures, strict=True):
                for name, value in f["keyEntityIds"].items():
                    copy.write_row((project.pk, fid, name, str(value), run["startedAt"]))
    return time.perf_counter() - started


def time_naive(body: bytes, slug: str) -> float:
    """One ORM save per row, the way a first version usually does it."""
    from django.db import transaction

    from runs.models import (
        FailureEntity,
        Invariant,
        InvariantFailure,
        Project,
        Run,
        Scenario,
        ScenarioResult,
        Suite,
    )

    project = Project.objects.create(slug=slug, name=slug)
    started = time.perf_counter()
    report = json.loads(body)
    info = report["run"]
    with transaction.atomic():
        suite = Suite.objects.create(project=project, name=info["suite"])
        run = Run.objects.create(
            project=project,
            suite=suite,
            external_id=info["id"],
            started_at=info["startedAt"],
            finished_at=info["finishedAt"],
            duration_ms=0,
            status="failed",
            content_sha256="",
        )
        for position, s in enumerate(report["scenarios"]):
            scenario, _ = Scenario.objects.get_or_create(
                project=project, key=s["scenarioId"], defaults={"title": s["title"]}
            )
            result = ScenarioResult.objects.create(
                project=project, run=run, scenario=scenario, position=position,
                status=s["status"], duration_ms=s["durationMs"], started_at=info["startedAt"],
            )  # fmt: skip
            for index, f in enumerate(s.get("failures", [])):
                invariant, _ = Invariant.objects.get_or_create(
                    project=project, key=f["invariantId"]
                )
                failure = InvariantFailure.objects.create(
                    result=result, run=run, project=project, scenario=scenario,
                    started_at=info["startedAt"], invariant=invariant, position=index,
                    key_entity_ids=f["keyEntityIds"], message=f["message"],
                    evidence=f["evidence"], artifacts=f["artifacts"],
                )  # fmt: skip
                for name, value in f["keyEntityIds"].items():
                    FailureEntity.objects.create(
                        project=project, failure=failure, name=name, value=str(value),
                        started_at=info["startedAt"],
                    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE runs_project, runs_suite, runs_run, runs_scenario, "
            "runs_invariant, runs_scenarioresult, runs_invariantfailure, "
            "runs_projecttoken, runs_membership CASCADE"
        )
    body = build_report("bench-run-1")
    print(
        f"report: {SCENARIOS} scenarios, {FAILURES} failures x {EVIDENCE_ROWS} evidence rows, "
        f"{len(body) / 1e6:.1f} MB"
    )
    ours, copies = [], []
    for attempt in range(REPEATS):
        # Alternate the order so that neither side always runs on a warmer cache.
        if attempt % 2:
            copies.append(time_copy(body, f"copy-{attempt}"))
            ours.append(time_ours(body, f"ours-{attempt}"))
        else:
            ours.append(time_ours(body, f"ours-{attempt}"))
            copies.append(time_copy(body, f"copy-{attempt}"))
    naive = time_naive(body, "naive")
    ours_s, copy_s = statistics.median(ours), statistics.median(copies)
    print(f"ours  (parse + validate + insert): {ours_s * 1000:8.0f} ms  (median of {REPEATS})")
    print(f"COPY  (parse + COPY):              {copy_s * 1000:8.0f} ms  (median of {REPEATS})")
    print(f"naive (one save per row):          {naive * 1000:8.0f} ms")
    print(f"ratio {ours_s / copy_s:.2f}")


if __name__ == "__main__":
    main()
