"""Keep the failure tallies: per reason x scenario x variant and per invariant x scenario, how
many failures, first and last seen. Ingest adds, pruning subtracts; pages read the tallies
instead of counting a history that only grows."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min, QuerySet

from runs.bulk import array_of, binding_cursor
from runs.models import InvariantFailure, InvariantTally, ReasonTally, Tally

REASON_KEY = ["reason_id", "scenario_id", "variant"]
INVARIANT_KEY = ["invariant_id", "scenario_id"]


@dataclass(frozen=True)
class TalliedFailure:
    reason_id: int | None
    invariant_id: int | None
    scenario_id: int
    variant: str
    started_at: datetime


@dataclass
class _Sum:
    count: int
    first: datetime
    last: datetime

    def add(self, when: datetime) -> None:
        self.count += 1
        self.first = min(self.first, when)
        self.last = max(self.last, when)


@dataclass(frozen=True)
class TallySums:
    """Failures summed by tally key: (reason, scenario, variant) and (invariant, scenario)."""

    by_reason: dict[tuple, _Sum]
    by_invariant: dict[tuple, _Sum]


def _summed(keys_and_times: Iterable[tuple[tuple, datetime]]) -> dict[tuple, _Sum]:
    tallies: dict[tuple, _Sum] = {}
    for key, when in keys_and_times:
        if key in tallies:
            tallies[key].add(when)
        else:
            tallies[key] = _Sum(1, when, when)
    return tallies


def _stored_sums(failures: QuerySet[InvariantFailure]) -> TallySums:
    """The same sums, of failures already stored, counted by the database."""
    spans = {"count": Count("id"), "first": Min("started_at"), "last": Max("started_at")}

    def summed(rows: QuerySet[InvariantFailure], *key: str) -> dict[tuple, _Sum]:
        counted = rows.values_list(*key).annotate(**spans).order_by()
        return {tuple(row[: len(key)]): _Sum(*row[len(key) :]) for row in counted}

    return TallySums(
        by_reason=summed(
            failures.exclude(reason=None), "reason_id", "scenario_id", "result__variant"
        ),
        by_invariant=summed(failures.exclude(invariant=None), "invariant_id", "scenario_id"),
    )


def tallies_add(project_id: int, failures: Sequence[TalliedFailure]) -> None:
    """Count newly stored failures into the tallies (inside the ingest's transaction)."""
    _write(
        project_id,
        TallySums(
            by_reason=_summed(
                ((f.reason_id, f.scenario_id, f.variant), f.started_at)
                for f in failures
                if f.reason_id is not None
            ),
            by_invariant=_summed(
                ((f.invariant_id, f.scenario_id), f.started_at)
                for f in failures
                if f.invariant_id is not None
            ),
        ),
    )


def _write(project_id: int, sums: TallySums) -> None:
    # Reasons before invariants, each in key order: every writer locks tally rows so.
    _upsert(ReasonTally, REASON_KEY, project_id, sums.by_reason)
    _upsert(InvariantTally, INVARIANT_KEY, project_id, sums.by_invariant)


def _upsert(
    model: type[Tally],
    key_columns: list[str],
    project_id: int,
    tallies: dict[tuple, _Sum],
) -> None:
    if not tallies:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ["project_id", *key_columns, "failure_count", "first_seen", "last_seen"]
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # Both PostgreSQL and SQLite read this upsert; CASE keeps min/max portable.
    on_conflict = (
        f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET "
        f"failure_count = {table}.failure_count + excluded.failure_count, "
        f"first_seen = CASE WHEN excluded.first_seen < {table}.first_seen "
        f"THEN excluded.first_seen ELSE {table}.first_seen END, "
        f"last_seen = CASE WHEN excluded.last_seen > {table}.last_seen "
        f"THEN excluded.last_seen ELSE {table}.last_seen END"
    )
    adapt = connection.ops.adapt_datetimefield_value
    # Sorted, so two ingests touching the same tallies lock them in one order.
    rows: list[list[Any]] = [
        [project_id, *key, tally.count, adapt(tally.first), adapt(tally.last)]
        for key, tally in sorted(tallies.items(), key=lambda item: item[0])
    ]
    insert = f"INSERT INTO {table} ({', '.join(columns)}) "
    if connection.vendor == "postgresql":
        # One array per column: a statement of seven parameters however many rows.
        meta = model._meta
        arrays = ", ".join(
            f"%b::{array_of(meta.get_field(column.removesuffix('_id')))}" for column in columns
        )
        with binding_cursor() as cursor:
            cursor.execute(
                f"{insert} SELECT * FROM unnest({arrays}) {on_conflict}",  # noqa: S608 - names from model metadata
                [list(values) for values in zip(*rows, strict=True)],
            )
        return
    with connection.cursor() as cursor:
        batch = max(1, (connection.features.max_query_params or 999) // len(columns))
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            cursor.execute(
                f"{insert} VALUES {', '.join([per_row] * len(chunk))} {on_conflict}",
                [value for row in chunk for value in row],
            )


def tallies_of_runs(run_ids: Sequence[int]) -> TallySums:
    """Read, before the runs are deleted, what their failures count for in the tallies."""
    return _stored_sums(InvariantFailure.objects.filter(run_id__in=list(run_ids)))


def tallies_subtract(gone: TallySums) -> None:
    """Take deleted failures out of the tallies (last in the deleting transaction); a tally
    that counts nothing any more goes. First and last seen stay: they say when it struck.

    Rows are updated one by one in the order ingest locks them, so a prune and an ingest never
    wait on each other in a circle. A count never goes below zero, even for failures stored
    around the tallies (by a restore, or by code older than them)."""
    _subtract(ReasonTally, REASON_KEY, gone.by_reason)
    _subtract(InvariantTally, INVARIANT_KEY, gone.by_invariant)


def _subtract(model: type[Tally], key_columns: list[str], sums: dict[tuple, _Sum]) -> None:
    if not sums:
        return
    keys = sorted(sums)
    table = connection.ops.quote_name(model._meta.db_table)
    where = " AND ".join(f"{column} = %s" for column in key_columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET failure_count = CASE WHEN failure_count > %s "  # noqa: S608 - names from model metadata
            f"THEN failure_count - %s ELSE 0 END WHERE {where}",
            [(sums[key].count, sums[key].count, *key) for key in keys],
        )
        cursor.executemany(
            f"DELETE FROM {table} WHERE {where} AND failure_count = 0",  # noqa: S608 - names from model metadata
            keys,
        )


def tallies_recount(project_id: int) -> None:
    """Count a project's tallies again from the failures it stores (after rows were written
    around ingest, e.g. by a bulk load or a restore)."""
    sums = _stored_sums(InvariantFailure.objects.filter(project_id=project_id))
    for model in (ReasonTally, InvariantTally):
        model.objects.filter(project_id=project_id).delete()
    _write(project_id, sums)
