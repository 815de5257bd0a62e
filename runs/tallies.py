"""Keep the failure tallies: per reason x scenario x variant and per invariant x scenario, how
many failures, first and last seen. Ingest adds, pruning subtracts; pages read the tallies
instead of counting a history that only grows."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count

from runs.models import InvariantFailure, InvariantTally, ReasonTally, ScenarioResult, Tally


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


def _summed(keys_and_times: Iterable[tuple[tuple, datetime]]) -> dict[tuple, _Sum]:
    tallies: dict[tuple, _Sum] = {}
    for key, when in keys_and_times:
        if key in tallies:
            tallies[key].add(when)
        else:
            tallies[key] = _Sum(1, when, when)
    return tallies


def tallies_add(project_id: int, failures: Sequence[TalliedFailure]) -> None:
    """Count newly stored failures into the tallies (inside the ingest's transaction)."""
    by_reason = _summed(
        ((f.reason_id, f.scenario_id, f.variant), f.started_at)
        for f in failures
        if f.reason_id is not None
    )
    by_invariant = _summed(
        ((f.invariant_id, f.scenario_id), f.started_at)
        for f in failures
        if f.invariant_id is not None
    )
    _upsert(ReasonTally, ["reason_id", "scenario_id", "variant"], project_id, by_reason)
    _upsert(InvariantTally, ["invariant_id", "scenario_id"], project_id, by_invariant)


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
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column: a statement of seven parameters however many rows.
            meta = model._meta
            arrays = ", ".join(
                f"%s::{meta.get_field(column.removesuffix('_id')).db_type(connection)}[]"
                for column in columns
            )
            cursor.execute(
                f"{insert} SELECT * FROM unnest({arrays}) {on_conflict}",  # noqa: S608 - names from model metadata
                [list(values) for values in zip(*rows, strict=True)],
            )
            return
        batch = max(1, (connection.features.max_query_params or 999) // len(columns))
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            cursor.execute(
                f"{insert} VALUES {', '.join([per_row] * len(chunk))} {on_conflict}",
                [value for row in chunk for value in row],
            )


@dataclass(frozen=True)
class TalliesGone:
    """What some runs' failures add to the tallies: (key..., count) rows, keys sorted."""

    by_reason: list[tuple[int, int, str, int]]
    by_invariant: list[tuple[int, int, int]]


def tallies_of_runs(run_ids: Sequence[int]) -> TalliesGone:
    """Read, before the runs are deleted, what their failures count for in the tallies."""
    failures = InvariantFailure.objects.filter(run_id__in=list(run_ids)).order_by()
    return TalliesGone(
        by_reason=sorted(
            failures.exclude(reason=None)
            .values_list("reason_id", "scenario_id", "result__variant")
            .annotate(n=Count("id"))
        ),
        by_invariant=sorted(
            failures.exclude(invariant=None)
            .values_list("invariant_id", "scenario_id")
            .annotate(n=Count("id"))
        ),
    )


def tallies_subtract(gone: TalliesGone) -> None:
    """Take deleted failures out of the tallies (last in the deleting transaction); a tally
    that counts nothing any more goes. First and last seen stay: they say when it struck.

    Rows are updated one by one in key order, reasons before invariants, as ingest locks them,
    so a prune and an ingest never wait on each other in a circle. A count never goes below
    zero, even for failures stored around the tallies (by a restore, or by code older than them)."""
    _subtract(ReasonTally, ["reason_id", "scenario_id", "variant"], gone.by_reason)
    _subtract(InvariantTally, ["invariant_id", "scenario_id"], gone.by_invariant)


def _subtract(model: type[Tally], key_columns: list[str], rows: Sequence[tuple]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    where = " AND ".join(f"{column} = %s" for column in key_columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET failure_count = CASE WHEN failure_count > %s "  # noqa: S608 - names from model metadata
            f"THEN failure_count - %s ELSE 0 END WHERE {where}",
            [(row[-1], row[-1], *row[:-1]) for row in rows],
        )
        cursor.executemany(
            f"DELETE FROM {table} WHERE {where} AND failure_count = 0",  # noqa: S608 - names from model metadata
            [row[:-1] for row in rows],
        )


def tallies_recount(project_id: int) -> None:
    """Count a project's tallies again from the failures it stores (after rows were written
    around ingest, e.g. by a bulk load or a restore)."""
    quote = connection.ops.quote_name
    failures = quote(InvariantFailure._meta.db_table)
    results = quote(ScenarioResult._meta.db_table)
    by_reason = quote(ReasonTally._meta.db_table)
    by_invariant = quote(InvariantTally._meta.db_table)
    spans = "COUNT(*), MIN(f.started_at), MAX(f.started_at)"
    with connection.cursor() as cursor:
        for table in (by_reason, by_invariant):
            cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project_id])  # noqa: S608
        cursor.execute(
            f"INSERT INTO {by_reason} (project_id, reason_id, scenario_id, variant, "  # noqa: S608 - names from model metadata
            f"failure_count, first_seen, last_seen) "
            f"SELECT f.project_id, f.reason_id, f.scenario_id, r.variant, {spans} "
            f"FROM {failures} f JOIN {results} r ON r.id = f.result_id "
            f"WHERE f.project_id = %s AND f.reason_id IS NOT NULL "
            f"GROUP BY f.project_id, f.reason_id, f.scenario_id, r.variant",
            [project_id],
        )
        cursor.execute(
            f"INSERT INTO {by_invariant} (project_id, invariant_id, scenario_id, "  # noqa: S608 - names from model metadata
            f"failure_count, first_seen, last_seen) "
            f"SELECT f.project_id, f.invariant_id, f.scenario_id, {spans} FROM {failures} f "
            f"WHERE f.project_id = %s AND f.invariant_id IS NOT NULL "
            f"GROUP BY f.project_id, f.invariant_id, f.scenario_id",
            [project_id],
        )
