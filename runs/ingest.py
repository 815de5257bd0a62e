"""Turn a validated run report into rows: one transaction, bulk writes, stored exactly once."""

import copy
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from runs.bulk import bulk_insert, catalog_upsert
from runs.flakes import flakes_record
from runs.models import (
    FAILING,
    FailureEntity,
    FailureReason,
    Invariant,
    InvariantFailure,
    Project,
    Run,
    RunPart,
    Scenario,
    ScenarioResult,
    Status,
    Suite,
)
from runs.reasons import failure_reason, reason_key
from runs.rollups import rollups_add, rollups_move_run, rollups_of_new_run
from runs.schema import FailureReport, RunReport, ScenarioReport, scenario_variants
from runs.tallies import TalliedFailure, tallies_add

DEFAULT_BUDGET_MINUTES = {"smoke": 10, "full": 35, "nightly": 35}
# `BID-001`, `bid_001`, `TENANT-004`: the area or kind is the part before the number
# (at most 32 characters, the width of the column it goes to).
ID_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,31})[-_]\d")


@dataclass(frozen=True)
class IngestResult:
    run: Run
    created: bool


class ReportConflict(Exception):
    """The run id (or the part of it) was already stored with different content, or the
    report does not fit the run it would join."""

    def __init__(self, run: Run, problem: str | None = None) -> None:
        super().__init__(
            problem
            or f"run {run.external_id!r} was already received with different content; "
            "post a new run id for a new attempt"
        )
        self.run = run


def id_prefix(identifier: str) -> str:
    match = ID_PREFIX.match(identifier)
    return match.group(1).upper() if match else ""


def report_digest(report: RunReport) -> str:
    # Hashing the validated model with sorted keys, not the raw bytes, makes whitespace,
    # key order and unknown fields irrelevant to "same content", as JSON itself has it.
    content = report.model_dump(mode="json", exclude={"run": {"total_parts"}})
    # How many parts CI expects is no content of the part: a re-post may add or drop it.
    # Fields added since a run was stored are left out while unset, so that a report posted
    # again after an upgrade is still the same content.
    for name in ("part", "variant"):
        if not content["run"][name]:
            del content["run"][name]
    for scenario in content["scenarios"]:
        if not scenario["variant"]:
            del scenario["variant"]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _area_counts_add(
    kept: dict[str, dict[str, int]], scenarios: Iterable[ScenarioReport]
) -> dict[str, dict[str, int]]:
    """New counts ({area: {status: n}}, as `Run.area_counts` keeps them): `kept` with these
    results added. The area is the one the catalog gives each scenario (`id_prefix`)."""
    counts = {area: dict(per_status) for area, per_status in kept.items()}
    for scenario in scenarios:
        per_status = counts.setdefault(id_prefix(scenario.scenario_id), {})
        per_status[scenario.status] = per_status.get(scenario.status, 0) + 1
    return counts


def has_diagnostics_gap(scenario: ScenarioReport) -> bool:
    if scenario.status not in FAILING:
        return False
    return not scenario.failures or any(f.invariant_key is None for f in scenario.failures)


def run_ingest(*, project: Project, report: RunReport) -> IngestResult:
    """Store `report` for `project` once: a whole run, or one part of a run.

    Re-posting identical content returns the stored run; different content under the same
    run id (or the same part of it) raises ReportConflict. A new part of a run is added to
    it. Either way nothing is written twice, and each report is stored all-or-nothing.
    """
    digest = report_digest(report)
    existing = _stored_run(project, report.run.id)
    if existing is None:
        try:
            with transaction.atomic():
                return IngestResult(run=_store(project, report, digest), created=True)
        except IntegrityError:
            # A concurrent post of the same run id committed first: the unique constraint
            # made this one wait for it and then fail, so the stored run is now visible.
            existing = _stored_run(project, report.run.id)
            if existing is None:
                raise
    if report.run.part is None:
        return _replay(existing, digest)
    return _part_join(existing, report, digest)


def _stored_run(project: Project, external_id: str) -> Run | None:
    return Run.objects.filter(project=project, external_id=external_id).first()


def _replay(run: Run, digest: str) -> IngestResult:
    if run.in_parts:
        raise ReportConflict(
            run,
            f"run {run.external_id!r} arrives in parts; name this report's part "
            "(run.part, or ?part= for XML)",
        )
    if run.content_sha256 != digest:
        raise ReportConflict(run)
    return IngestResult(run=run, created=False)


def _part_join(run: Run, report: RunReport, digest: str) -> IngestResult:
    name = report.run.part
    if not run.in_parts:
        raise ReportConflict(
            run,
            f"run {run.external_id!r} was received whole, so part {name!r} cannot join it",
        )
    with transaction.atomic():
        # Parts of one run are added one at a time: each sees the attempts and counts of the
        # ones before it.
        run = (
            # No-key: rows that only point at this run (flakes of another run of the commit)
            # can still be written meanwhile, so two sharded runs of one commit cannot deadlock.
            Run.objects.select_for_update(of=("self",), no_key=True)
            .select_related("suite")
            .get(pk=run.pk)
        )
        stored = RunPart.objects.filter(run=run, name=name).first()
        if stored is not None:
            if stored.content_sha256 != digest:
                raise ReportConflict(
                    run,
                    f"part {name!r} of run {run.external_id!r} was already received with "
                    "different content; post a new run id for a new attempt",
                )
            return IngestResult(run=run, created=False)
        _part_fits(run, report)
        _part_add(run, report, digest)
    return IngestResult(run=run, created=True)


def _part_fits(run: Run, report: RunReport) -> None:
    info = report.run
    stored = {"suite": run.suite.name, "branch": run.branch, "commit": run.commit}
    for field_name, value in (
        ("suite", info.suite),
        ("branch", info.branch),
        ("commit", info.commit),
    ):
        if value != stored[field_name]:
            raise ReportConflict(
                run,
                f"run.{field_name} is {value!r} in part {info.part!r} but "
                f"{stored[field_name]!r} in the parts of run {run.external_id!r} received before",
            )


def _store(project: Project, report: RunReport, digest: str) -> Run:
    # The run row goes first so that a concurrent duplicate blocks on its unique key
    # before doing any other work.
    run = _insert_run(project, report, digest)
    inserted = _insert_results(run, report, first_position=0, attempts_before={})
    if report.run.part is not None:
        _insert_part(run, report, digest)
    # Last before the commit: concurrent reports failing alike update the same tally and
    # rollup rows, and each holds their locks from here until it commits.
    tallies_add(project.pk, inserted.tallied)
    rollups_add(project.pk, rollups_of_new_run(run, inserted.failing))
    return run


def _part_add(run: Run, report: RunReport, digest: str) -> None:
    """Add one more part to a run in parts: its results, and the run's merged summary."""
    info = report.run
    results = ScenarioResult.objects.filter(run=run)
    first_position = (results.aggregate(last=Max("position"))["last"] or 0) + 1
    # The same test in the same variant again (a shard CI ran twice) is a retry of it.
    attempts_before = {
        (row["scenario__key"], row["variant"]): row["last"]
        for row in results.values("scenario__key", "variant").annotate(last=Max("attempt"))
    }
    inserted = _insert_results(
        run, report, first_position=first_position, attempts_before=attempts_before
    )
    _insert_part(run, report, digest)
    before = copy.copy(run)
    run.started_at = min(run.started_at, info.started_at)
    run.finished_at = max(run.finished_at, info.finished_at)
    run.duration_ms = int((run.finished_at - run.started_at).total_seconds() * 1000)
    if info.total_parts:
        run.expected_parts = max(run.expected_parts or 0, info.total_parts)
    counts = dict(results.values_list("status").annotate(n=Count("id")).order_by())
    run.passed_count = counts.get(Status.PASSED, 0)
    run.failed_count = counts.get(Status.FAILED, 0)
    run.skipped_count = counts.get(Status.SKIPPED, 0)
    run.error_count = counts.get(Status.ERROR, 0)
    run.status = run_status(run.total_count, run.failed_count + run.error_count)
    run.diagnostics_gap_count = results.filter(diagnostics_gap=True).count()
    if run.area_counts is not None:
        run.area_counts = _area_counts_add(run.area_counts, report.scenarios)
    run.flaky_count = len(
        flaky_within_run(
            ((s, v), a, st)
            for s, v, a, st in results.values_list("scenario_id", "variant", "attempt", "status")
        )
    )
    run.save(
        update_fields=[
            "started_at", "finished_at", "duration_ms", "expected_parts", "status",
            "passed_count", "failed_count", "skipped_count", "error_count",
            "diagnostics_gap_count", "flaky_count", "area_counts", "parts_received",
            "last_part_at",
        ]
    )  # fmt: skip
    tallies_add(run.project_id, inserted.tallied)  # last, as in `_store`
    rollups_move_run(before, run, inserted.failing)


def _insert_part(run: Run, report: RunReport, digest: str) -> None:
    info = report.run
    part = RunPart.objects.create(
        run=run,
        name=info.part,
        content_sha256=digest,
        scenario_count=len(report.scenarios),
        started_at=info.started_at,
        finished_at=info.finished_at,
    )
    run.parts_received += 1
    run.last_part_at = part.received_at
    if run.parts_received == 1:
        Run.objects.filter(pk=run.pk).update(parts_received=1, last_part_at=part.received_at)


@dataclass(frozen=True)
class _Inserted:
    # The failures stored, for the tallies.
    tallied: list[TalliedFailure]
    # The failing results stored, as (scenario id, start), for the rollups.
    failing: list[tuple[int, datetime]]


def _insert_results(
    run: Run,
    report: RunReport,
    *,
    first_position: int,
    attempts_before: dict[tuple[str, str], int],
) -> _Inserted:
    """Write the report's results, failures and their search rows; return what the tallies
    and the rollups count, which the caller does last (see `_store`)."""
    project_id = run.project_id
    started_at = report.run.started_at
    scenario_ids = _scenario_catalog(run.project_id, report.scenarios)
    invariant_ids = _invariant_catalog(
        project_id,
        {
            failure.invariant_key
            for scenario in report.scenarios
            for failure in scenario.failures
            if failure.invariant_key
        },
    )
    variants = scenario_variants(report)
    attempts = [
        attempts_before.get((s.scenario_id, variant), 0) + s.attempt
        for s, variant in zip(report.scenarios, variants, strict=True)
    ]
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
            "variant",
            "title",
            "file",
            "diagnostics_gap",
            "started_at",
        ],
        [
            (
                project_id,
                run.pk,
                scenario_ids[scenario.scenario_id],
                first_position + position,
                scenario.status,
                scenario.duration_ms,
                attempt,
                variant,
                scenario.title,
                scenario.file,
                has_diagnostics_gap(scenario),
                started_at,
            )
            for position, (scenario, variant, attempt) in enumerate(
                zip(report.scenarios, variants, attempts, strict=True)
            )
        ],
        return_ids=True,
    )
    failures = [
        (result_id, scenario, position, failure)
        for result_id, scenario in zip(result_ids, report.scenarios, strict=True)
        for position, failure in enumerate(scenario.failures)
    ]
    reasons = [
        failure_reason(failure.message, failure.observed, failure.key_entity_ids)
        for _, _, _, failure in failures
    ]
    reason_ids = _reason_catalog(project_id, reasons)
    variant_of = dict(zip(result_ids, variants, strict=True))
    # Each failure's catalog ids, looked up once: for its row and for the tallies.
    tallied = [
        TalliedFailure(
            reason_id=reason_ids[reason_key(reason)],
            invariant_id=invariant_ids[failure.invariant_key] if failure.invariant_key else None,
            scenario_id=scenario_ids[scenario.scenario_id],
            variant=variant_of[result_id],
            started_at=started_at,
        )
        for (result_id, scenario, _, failure), reason in zip(failures, reasons, strict=True)
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
            "reason_id",
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
                project_id,
                counted.scenario_id,
                started_at,
                counted.invariant_id,
                position,
                counted.reason_id,
                failure.organization_under_test or "",
                failure.key_entity_ids,
                failure.message,
                failure.expected,
                failure.observed,
                failure.artifacts,
                [table.model_dump(mode="json") for table in failure.evidence],
            )
            for (result_id, _, position, failure), counted in zip(failures, tallied, strict=True)
        ],
        return_ids=True,
    )
    bulk_insert(
        FailureEntity,
        ["project_id", "failure_id", "name", "value", "started_at"],
        [
            (project_id, failure_id, name, value, started_at)
            for failure_id, (_, _, _, failure) in zip(failure_ids, failures, strict=True)
            for name, value in searchable_values(failure)
        ],
    )
    flakes_record(
        run=run,
        outcomes=[
            (scenario_ids[s.scenario_id], variant, s.status)
            for s, variant in zip(report.scenarios, variants, strict=True)
        ],
        earlier_parts_below=first_position,
    )
    return _Inserted(
        tallied=tallied,
        failing=[
            (scenario_ids[s.scenario_id], started_at)
            for s in report.scenarios
            if s.status in FAILING
        ],
    )


def flaky_within_run(attempts: Iterable[tuple[Any, int, str]]) -> set[Any]:
    """Tests whose last attempt passed after an earlier attempt failed, from
    (test, attempt, status) triples; a test is a scenario in a variant."""
    last: dict[Any, tuple[int, str]] = {}
    failed: set[Any] = set()
    for scenario, attempt, status in attempts:
        if status in FAILING:
            failed.add(scenario)
        if scenario not in last or attempt >= last[scenario][0]:
            last[scenario] = (attempt, status)
    return {s for s in failed if last[s][1] == Status.PASSED}


MAX_EVIDENCE_VALUES = 100


def searchable_values(failure: FailureReport) -> list[tuple[str, str]]:
    """What a search finds a failure by: its key entity ids, and the ids in its evidence rows
    (an org or user id that appears only in a row), at most MAX_EVIDENCE_VALUES of those."""
    found = [
        (name, entity_text(value))
        for name, value in failure.key_entity_ids.items()
        if value is not None
    ]
    seen = {value for _, value in found}
    from_evidence = 0
    for table in failure.evidence:
        for row in table.rows:
            for column, cell in row.items():
                text = id_like_text(cell)
                if text and text not in seen:
                    if from_evidence == MAX_EVIDENCE_VALUES:
                        return found
                    seen.add(text)
                    from_evidence += 1
                    found.append((f"{table.label or 'evidence'} · {column}"[:255], text))
    return found


def id_like_text(cell: object) -> str | None:
    """An evidence cell's text when it could be an id, else None."""
    # Strings that could be ids, and integers long enough not to be counts.
    if isinstance(cell, str) and 3 <= len(cell) <= 255 and "\n" not in cell:
        return cell
    if isinstance(cell, int) and not isinstance(cell, bool) and abs(cell) >= 1000:
        return str(cell)
    return None


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
    status = run_status(len(report.scenarios), counts[Status.FAILED] + counts[Status.ERROR])
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
            flaky_within_run(
                ((s.scenario_id, variant), s.attempt, s.status)
                for s, variant in zip(report.scenarios, scenario_variants(report), strict=True)
            )
        ),
        area_counts=_area_counts_add({}, report.scenarios),
        # A run in parts keeps a digest per part instead.
        content_sha256="" if info.part is not None else digest,
        expected_parts=info.total_parts if info.part is not None else None,
    )


def run_status(results: int, failing: int) -> str:
    if not results:
        # A run that ran nothing is not green: usually the harness never started.
        return Status.ERROR
    return Status.FAILED if failing else Status.PASSED


def _scenario_catalog(project_id: int, scenarios: list[ScenarioReport]) -> dict[str, int]:
    """Catalog ids of these scenarios; the catalog keeps the latest non-empty title and file."""
    reported = {s.scenario_id: (s.title, s.file) for s in scenarios}
    return catalog_upsert(
        Scenario,
        scope=("project_id", project_id),
        key_field="key",
        fields=["area", "title", "file"],
        rows=[(key, id_prefix(key), title, file) for key, (title, file) in reported.items()],
        refresh=["title", "file"],
    )


def _reason_catalog(project_id: int, reasons: list[str]) -> dict[str, int]:
    return catalog_upsert(
        FailureReason,
        scope=("project_id", project_id),
        key_field="key",
        fields=["text"],
        rows=[(reason_key(text), text) for text in set(reasons)],
    )


def _invariant_catalog(project_id: int, keys: set[str]) -> dict[str, int]:
    return catalog_upsert(
        Invariant,
        scope=("project_id", project_id),
        key_field="key",
        fields=["kind"],
        rows=[(key, id_prefix(key)) for key in keys],
    )
