"""Ingest speed against the physical limit.

Ingests, through the webhook's own code path (parse + validate + insert), a report of 10,000
scenarios and 500 invariant failures with 5 evidence rows each into PostgreSQL; then, in the same
run, parses the same report and COPYs the same rows into the same tables (the limit); then, for
reference, stores it with one ORM save per row, and times the same suite's next runs (its
scenarios already in the catalog, as for every run after a suite's first). The same for a
10,000-test JUnit XML file: the webhook's XML reading (`xml_report`) and ingest, against expat
(ElementTree's C parser, the fastest at hand) and the same COPY. Then, each in a process of its
own, the peak memory of ingesting the largest JSON report the webhook takes and a JUnit file of
as many tests as a report may hold, per byte of the file. Last lines:
`junit ratio <ours / COPY>`, then `ratio <ours / COPY>` for the JSON report.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_bench python bench/ingest.py
The database is created if missing and its run tables are emptied first.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import fromstring

from benchenv import configure, junit_report, next_ids, open_bench_database

configure("triage_bench")

SCENARIOS = 10_000
FAILURES = 500
EVIDENCE_ROWS = 5
# The largest report the webhook takes (REPORT_MAX_BYTES, 20 MiB), for its peak memory.
LARGEST = {"scenario_count": 40_000, "failure_count": 4_000, "evidence_rows": 33}
# A JUnit file of as many tests as a report may hold (16 MiB).
LARGEST_JUNIT_TESTS = 100_000
REPEATS = 3


def build_report(
    run_id: str,
    scenario_count: int = SCENARIOS,
    failure_count: int = FAILURES,
    evidence_rows: int = EVIDENCE_ROWS,
) -> bytes:
    every = scenario_count // failure_count
    scenarios = []
    for n in range(scenario_count):
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
                                for r in range(evidence_rows)
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


def time_next_runs(slug: str) -> list[float]:
    """Each later run of a suite: the catalog already holds its scenarios, as it does for every
    run CI posts after the suite's first."""
    from runs.ingest import run_ingest
    from runs.projects import project_create
    from runs.schema import report_parse

    project, _ = project_create(slug=slug, name=slug)
    run_ingest(project=project, report=report_parse(build_report("bench-first")))
    times = []
    for number in range(REPEATS):
        report = report_parse(build_report(f"bench-next-{number}"))
        started = time.perf_counter()
        run_ingest(project=project, report=report)
        times.append(time.perf_counter() - started)
    return times


def time_ours_junit(body: bytes, slug: str) -> float:
    """The webhook's JUnit path: the XML read into the report, then the same ingest."""
    from runs.ingest import run_ingest
    from runs.projects import project_create
    from runs.xml_reports import xml_report

    project, _ = project_create(slug=slug, name=slug)
    started = time.perf_counter()
    report = xml_report(
        body,
        run={"id": "bench-junit-1", "suite": "full", "branch": "main", "commit": "9f1c2e7"},
        scenario_pattern=project.scenario_id_pattern,
        invariant_pattern=project.invariant_id_pattern,
        repeated_testcase=project.repeated_testcase,
    )
    run_ingest(project=project, report=report)
    return time.perf_counter() - started


def junit_rows(body: bytes) -> dict[str, Any]:
    """The JUnit file read by expat into the shape `copy_report` takes: no id patterns, no
    checks, only what the rows need."""
    root = fromstring(body)  # noqa: S314 (the bench's own file: no defence, only speed)
    suites = root.findall("testsuite") if root.tag == "testsuites" else [root]
    scenarios = []
    for suite in suites:
        for case in suite.iter("testcase"):
            classname, name = case.get("classname", ""), case.get("name", "")
            scenario = {
                "scenarioId": f"{classname} > {name}",
                "title": f"{classname} > {name}",
                "file": classname,
                "status": "passed",
                "durationMs": int(float(case.get("time") or 0) * 1000),
                "attempt": 1,
            }
            for child in case:
                if child.tag in ("failure", "error"):
                    scenario["status"] = "failed" if child.tag == "failure" else "error"
                    scenario.setdefault("failures", []).append(_junit_failure(child))
                elif child.tag == "skipped":
                    scenario["status"] = "skipped"
            scenarios.append(scenario)
    started = f"{suites[0].get('timestamp')}Z"
    run = {
        "id": "bench-junit-1",
        "suite": "full",
        "url": "",
        "branch": "main",
        "commit": "9f1c2e7",
        "trigger": "",
        "startedAt": started,
        "finishedAt": started,
    }
    return {"run": run, "scenarios": scenarios}


def _junit_failure(child: Any) -> dict[str, Any]:
    return {"invariantId": None, "organizationUnderTest": "", "keyEntityIds": {},
            "message": child.get("message", ""), "expected": "", "observed": child.text or "",
            "artifacts": [], "evidence": []}  # fmt: skip


def time_copy(body: bytes, slug: str, parse: Callable[[bytes], dict[str, Any]]) -> float:
    """Parse the same report and COPY the same rows into the same tables."""
    from runs.models import Project

    project = Project.objects.create(slug=slug, name=slug)
    started = time.perf_counter()
    copy_report(project, parse(body))
    return time.perf_counter() - started


def copy_report(project: Any, report: dict[str, Any]) -> None:
    from django.db import connection, transaction

    from runs.models import Suite

    run = report["run"]
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        suite = Suite.objects.create(project=project, name=run["suite"], budget_minutes=35)
        run_id = cursor.execute(
            "INSERT INTO runs_run (project_id, suite_id, external_id, ci_url, branch, commit, "
            "trigger, started_at, finished_at, duration_ms, rerun_of_external_id, status, "
            "passed_count, failed_count, skipped_count, error_count, diagnostics_gap_count, "
            "flaky_count, content_sha256, received_at, rerun_token) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', "
            "'failed', 0, 0, 0, 0, 0, 0, '', now(), '') RETURNING id",
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
            {f["invariantId"] for s in scenarios for f in s.get("failures", [])} - {None}
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
                     invariant_ids.get(f["invariantId"]), position, f["organizationUnderTest"],
                     json.dumps(f["keyEntityIds"]), f["message"], f["expected"], f["observed"],
                     json.dumps(f["artifacts"]), json.dumps(f["evidence"]))
                )  # fmt: skip
        with cursor.copy(
            "COPY runs_failureentity (project_id, failure_id, name, value, started_at) FROM STDIN"
        ) as copy:
            for fid, (_, _, _, f) in zip(failure_ids, failures, strict=True):
                for name, value in search_rows(f):
                    copy.write_row((project.pk, fid, name, value, run["startedAt"]))


def search_rows(failure: dict[str, Any]) -> list[tuple[str, str]]:
    """The search rows Triage stores for a failure, by ingest's own rule (`searchable_values`)
    read from the parsed JSON: its key entity ids, then each new id-like cell of its evidence
    rows, at most MAX_EVIDENCE_VALUES of those; so the limit writes what ours does."""
    from runs.ingest import MAX_EVIDENCE_VALUES, entity_text, id_like_text

    rows = [
        (name, entity_text(value))
        for name, value in failure["keyEntityIds"].items()
        if value is not None
    ]
    seen = {value for _, value in rows}
    from_evidence = 0
    for table in failure["evidence"]:
        for row in table["rows"]:
            for column, cell in row.items():
                text = id_like_text(cell)
                if text and text not in seen:
                    if from_evidence == MAX_EVIDENCE_VALUES:
                        return rows
                    seen.add(text)
                    from_evidence += 1
                    rows.append((f"{table.get('label') or 'evidence'} · {column}"[:255], text))
    return rows


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
    open_bench_database(empty=False)
    from django.db import connection

    from triage.worker_gc import worker_gc_tuned

    # Both sides run as a gunicorn or Celery worker of Triage runs: the collector tuned.
    worker_gc_tuned()

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE runs_project, runs_suite, runs_run, runs_scenario, "
            "runs_invariant, runs_scenarioresult, runs_invariantfailure, "
            "runs_projecttoken, runs_membership CASCADE"
        )
    body = build_report("bench-run-1")
    junit = junit_report(SCENARIOS)
    print(
        f"report: {SCENARIOS} scenarios, {FAILURES} failures x {EVIDENCE_ROWS} evidence rows, "
        f"{len(body) / 1e6:.1f} MB; JUnit: {SCENARIOS} tests, {len(junit) / 1e6:.1f} MB"
    )
    ours, copies = alternate(
        lambda slug: time_ours(body, slug), lambda slug: time_copy(body, slug, json.loads)
    )
    naive = time_naive(body, "naive")
    next_run_s = statistics.median(time_next_runs("next-runs"))
    junit_ours, junit_copies = alternate(
        lambda slug: time_ours_junit(junit, slug),
        lambda slug: time_copy(junit, slug, junit_rows),
        prefix="junit-",
    )
    ours_s, copy_s = statistics.median(ours), statistics.median(copies)
    junit_s, junit_copy_s = statistics.median(junit_ours), statistics.median(junit_copies)
    median = f"  (median of {REPEATS})"
    for label, seconds, note in (
        ("ours  (parse + validate + insert)", ours_s, median),
        ("COPY  (parse + COPY)", copy_s, median),
        ("ours, a known suite's next run", next_run_s, median),
        ("naive (one save per row)", naive, ""),
        ("JUnit ours (read XML + ingest)", junit_s, median),
        ("JUnit COPY (expat + COPY)", junit_copy_s, median),
    ):
        print(f"{label + ':':<37}{seconds * 1000:8.0f} ms{note}")
    for label, largest, suffix in (
        ("largest report", build_report("bench-largest", **LARGEST), ".json"),
        ("largest JUnit file", junit_report(LARGEST_JUNIT_TESTS), ".xml"),
    ):
        peak_mib = largest_peak_mib(largest, suffix)
        size_mib = len(largest) / 2**20
        print(
            f"{label} {size_mib:.1f} MiB: peak memory of its ingest {peak_mib:.0f} MiB over "
            f"the process at rest ({peak_mib / size_mib:.1f} per byte)"
        )
    print(f"junit ratio {junit_s / junit_copy_s:.2f}")
    print(f"ratio {ours_s / copy_s:.2f}")


def largest_peak_mib(body: bytes, suffix: str) -> float:
    with tempfile.NamedTemporaryFile(suffix=suffix) as body_file:
        body_file.write(body)
        body_file.flush()
        peak = subprocess.run(
            [sys.executable, __file__, "--peak-memory", body_file.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
    return int(peak) / 1024


def peak_memory(path: str) -> None:
    """In a process of its own: how far reading and ingesting the report at `path` (JSON, or
    a JUnit file when it ends .xml) raises the peak resident memory (KiB) over the process
    holding the body, set up and at rest."""
    open_bench_database(empty=False)
    from runs.ingest import run_ingest
    from runs.projects import project_create
    from runs.schema import report_parse
    from runs.xml_reports import xml_report
    from triage.worker_gc import worker_gc_tuned

    worker_gc_tuned()
    project, _ = project_create(slug=f"largest-{os.getpid()}", name="largest")
    with open(path, "rb") as source:
        body = source.read()
    at_rest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if path.endswith(".xml"):
        report = xml_report(body, run={"id": "bench-largest-xml", "suite": "junit"})
    else:
        report = report_parse(body)
    run_ingest(project=project, report=report)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - at_rest)


def alternate(
    ours: Callable[[str], float], copy: Callable[[str], float], prefix: str = ""
) -> tuple[list[float], list[float]]:
    """REPEATS timings of each, each in a project of its own."""
    ours_times, copy_times = [], []
    for attempt in range(REPEATS):
        # Alternate the order so that neither side always runs on a warmer cache.
        if attempt % 2:
            copy_times.append(copy(f"{prefix}copy-{attempt}"))
            ours_times.append(ours(f"{prefix}ours-{attempt}"))
        else:
            ours_times.append(ours(f"{prefix}ours-{attempt}"))
            copy_times.append(copy(f"{prefix}copy-{attempt}"))
    return ours_times, copy_times


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peak-memory"]:
        peak_memory(sys.argv[2])
    else:
        main()
