"""Turn a validated run report into rows: one transaction, bulk writes, stored exactly once."""

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from runs.bulk import bulk_insert, catalog_upsert
from runs.flakes import flakes_record
from runs.models import (
    FAILING,
    FailureEntity,
    Invariant,
    InvariantFailure,
    Project,
    Run,
    Scenario,
    ScenarioResult,
    Status,
    Suite,
)
from runs.schema import RunReport, ScenarioReport

DEFAULT_BUDGET_MINUTES = {"smoke": 10, "full": 35, "nightly": 35}
# `BID-001`, `bid_001`, `TENANT-004`: the area or kind is the part before the number
# (at most 32 characters, the width of the column it goes to).
ID_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,31})[-_]\d")


@dataclass(frozen=True)
class IngestResult:
    run: Run
    created: bool


class ReportConflict(Exception):
    """The run id was already stored with different content."""

    def __init__(self, run: Run) -> None:
        super().__init__(
            f"run {run.external_id!r} was already received with different content; "
            "post a new run id for a new attempt"
        )
        self.run = run


def id_prefix(identifier: str) -> str:
    match = ID_PREFIX.match(identifier)
    return match.group(1).upper() if match else ""


def report_digest(report: RunReport) -> str:
    # Hashing the validated model with sorted keys, not the raw bytes, makes whitespace,
    # key order and unknown fields irrelevant to "same content", as JSON itself has it.
    canonical = json.dumps(
        report.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def has_diagnostics_gap(scenario: ScenarioReport) -> bool:
    if scenario.status not in FAILING:
        return False
    return not scenario.failures or any(f.invariant_key is None for f in scenario.failures)


def run_ingest(*, project: Project, report: RunReport) -> IngestResult:
    """Store `report` for `project` once.

    Re-posting identical content returns the stored run; different content under the same
    run id raises ReportConflict. Either way nothing is written twice.
    """
    digest = report_digest(report)
    existing = _stored_run(project, report.run.id)
    if existing is not None:
        return _replay(existing, digest)
    try:
        with transaction.atomic():
            run = _store(project, report, digest)
    except IntegrityError:
        # A concurrent post of the same run id committed first: the unique constraint made
        # this one wait for it and then fail, so the stored run is now visible.
        existing = _stored_run(project, report.run.id)
        if existing is None:
            raise
        return _replay(existing, digest)
    return IngestResult(run=run, created=True)


def _stored_run(project: Project, external_id: str) -> Run | None:
    return Run.objects.filter(project=project, external_id=external_id).first()


def _replay(run: Run, digest: str) -> IngestResult:
    if run.content_sha256 != digest:
        raise ReportConflict(run)
    return IngestResult(run=run, created=False)


def _store(project: Project, report: RunReport, digest: str) -> Run:
    # The run row goes first so that a concurrent duplicate blocks on its unique key
    # before doing any other work.
    run = _insert_run(project, report, digest)
    scenario_ids = _scenario_catalog(project, report.scenarios)
    invariant_ids = _invariant_catalog(
        project,
        {
            failure.invariant_key
            for scenario in report.scenarios
            for failure in scenario.failures
            if failure.invariant_key
        },
    )
    result_ids = bulk_insert(
        ScenarioResult,
        [
            "project_id",
            "run_id",
            "scenario_id",
            "position",
            "status",
            "duration_ms",
            "attempt",
            "title",
            "file",
            "diagnostics_gap",
            "started_at",
        ],
        [
            (
                project.pk,
                run.pk,
                scenario_ids[scenario.scenario_id],
                position,
                scenario.status,
                scenario.duration_ms,
                scenario.attempt,
                scenario.title,
                scenario.file,
                has_diagnostics_gap(scenario),
                run.started_at,
            )
            for position, scenario in enumerate(report.scenarios)
        ],
        return_ids=True,
    )
    failures = [
        (result_id, scenario, position, failure)
        for result_id, scenario in zip(result_ids, report.scenarios, strict=True)
        for position, failure in enumerate(scenario.failures)
    ]
    failure_ids = bulk_insert(
        InvariantFailure,
        [
            "result_id",
            "run_id",
            "project_id",
            "scenario_id",
            "started_at",
            "invariant_id",
            "position",
            "organization_under_test",
            "key_entity_ids",
            "message",
            "expected",
            "observed",
            "artifacts",
            "evidence",
        ],
        [
            (
                result_id,
                run.pk,
                project.pk,
                scenario_ids[scenario.scenario_id],
                run.started_at,
                invariant_ids[failure.invariant_key] if failure.invariant_key else None,
                position,
                failure.organization_under_test or "",
                failure.key_entity_ids,
                failure.message,
                failure.expected,
                failure.observed,
                failure.artifacts,
                [table.model_dump(mode="json") for table in failure.evidence],
            )
            for result_id, scenario, position, failure in failures
        ],
        return_ids=True,
    )
    bulk_insert(
        FailureEntity,
        ["project_id", "failure_id", "name", "value", "started_at"],
        [
            (project.pk, failure_id, name, entity_text(value), run.started_at)
            for failure_id, (_, _, _, failure) in zip(failure_ids, failures, strict=True)
            for name, value in failure.key_entity_ids.items()
            if value is not None
        ],
    )
    flakes_record(
        run=run,
        outcomes=[(scenario_ids[s.scenario_id], s.status) for s in report.scenarios],
    )
    return run


def flaky_within_run(attempts: Iterable[tuple[Any, int, str]]) -> set[Any]:
    """Scenarios whose last attempt passed after an earlier attempt failed, from
    (scenario, attempt, status) triples."""
    last: dict[Any, tuple[int, str]] = {}
    failed: set[Any] = set()
    for scenario, attempt, status in attempts:
        if status in FAILING:
            failed.add(scenario)
        if scenario not in last or attempt >= last[scenario][0]:
            last[scenario] = (attempt, status)
    return {s for s in failed if last[s][1] == Status.PASSED}


def entity_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _insert_run(project: Project, report: RunReport, digest: str) -> Run:
    info = report.run
    suite, _ = Suite.objects.get_or_create(
        project=project,
        name=info.suite,
        defaults={"budget_minutes": DEFAULT_BUDGET_MINUTES.get(info.suite.lower())},
    )
    counts = {status: 0 for status in Status.values}
    for scenario in report.scenarios:
        counts[scenario.status] += 1
    if not report.scenarios:
        # A run that ran nothing is not green: usually the harness never started.
        status = Status.ERROR
    elif counts[Status.FAILED] or counts[Status.ERROR]:
        status = Status.FAILED
    else:
        status = Status.PASSED
    rerun_of = _stored_run(project, info.rerun_of) if info.rerun_of else None
    return Run.objects.create(
        project=project,
        suite=suite,
        external_id=info.id,
        ci_url=info.url or "",
        branch=info.branch,
        commit=info.commit,
        trigger=info.trigger,
        started_at=info.started_at,
        finished_at=info.finished_at,
        duration_ms=int((info.finished_at - info.started_at).total_seconds() * 1000),
        rerun_of_external_id=info.rerun_of or "",
        rerun_token=info.rerun_token or "",
        rerun_of=rerun_of,
        status=status,
        passed_count=counts[Status.PASSED],
        failed_count=counts[Status.FAILED],
        skipped_count=counts[Status.SKIPPED],
        error_count=counts[Status.ERROR],
        diagnostics_gap_count=sum(has_diagnostics_gap(s) for s in report.scenarios),
        flaky_count=len(
            flaky_within_run((s.scenario_id, s.attempt, s.status) for s in report.scenarios)
        ),
        content_sha256=digest,
    )


def _scenario_catalog(project: Project, scenarios: list[ScenarioReport]) -> dict[str, int]:
    """Catalog ids of these scenarios; the catalog keeps the latest non-empty title and file."""
    reported = {s.scenario_id: (s.title, s.file) for s in scenarios}
    return catalog_upsert(
        Scenario,
        scope=("project_id", project.pk),
        key_field="key",
        fields=["area", "title", "file"],
        rows=[(key, id_prefix(key), title, file) for key, (title, file) in reported.items()],
        refresh=["title", "file"],
    )


def _invariant_catalog(project: Project, keys: set[str]) -> dict[str, int]:
    return catalog_upsert(
        Invariant,
        scope=("project_id", project.pk),
        key_field="key",
        fields=["kind"],
        rows=[(key, id_prefix(key)) for key in keys],
    )
