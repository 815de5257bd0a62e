"""Keep the failure tallies: per reason x scenario x variant and per invariant x scenario, how
many failures, first and last seen. Ingest adds, pruning subtracts; pages read the tallies
instead of counting a history that only grows."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from runs.models import InvariantFailure, InvariantTally, ReasonTally, ScenarioResult, Tally


@dataclass(frozen=True)
class TalliedFailure:
    reason_id: int | None
    invariant_id: int | None
    scenario_id: int
    variant: str
    started_at: datetime


@dataclass
class _Tally:
    count: int
    first: datetime
    last: datetime

    def add(self, when: datetime) -> None:
        self.count += 1
        self.first = min(self.first, when)
        self.last = max(self.last, when)


def _summed(keys_and_times: Iterable[tuple[tuple, datetime]]) -> dict[tuple, _Tally]:
    tallies: dict[tuple, _Tally] = {}
    for key, when in keys_and_times:
        if key in tallies:
            tallies[key].add(when)
        else:
            tallies[key] = _Tally(1, when, when)
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
    tallies: dict[tuple, _Tally],
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


def tallies_subtract(run_ids: Sequence[int]) -> None:
    """Take the failures of runs about to be deleted out of the tallies; a tally that counts
    nothing any more goes. First and last seen stay: they say when it struck, not what is kept."""
    if not run_ids:
        return
    quote = connection.ops.quote_name
    failures = quote(InvariantFailure._meta.db_table)
    results = quote(ScenarioResult._meta.db_table)
    by_reason = quote(ReasonTally._meta.db_table)
    by_invariant = quote(InvariantTally._meta.db_table)
    in_runs = ", ".join(["%s"] * len(run_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {by_reason} SET failure_count = {by_reason}.failure_count - gone.n "  # noqa: S608 - names from model metadata
            f"FROM (SELECT f.reason_id, f.scenario_id, r.variant, COUNT(*) AS n "
            f"FROM {failures} f JOIN {results} r ON r.id = f.result_id "
            f"WHERE f.run_id IN ({in_runs}) AND f.reason_id IS NOT NULL "
            f"GROUP BY f.reason_id, f.scenario_id, r.variant) AS gone "
            f"WHERE {by_reason}.reason_id = gone.reason_id "
            f"AND {by_reason}.scenario_id = gone.scenario_id "
            f"AND {by_reason}.variant = gone.variant",
            list(run_ids),
        )
        cursor.execute(
            f"UPDATE {by_invariant} SET failure_count = {by_invariant}.failure_count - gone.n "  # noqa: S608 - names from model metadata
            f"FROM (SELECT invariant_id, scenario_id, COUNT(*) AS n FROM {failures} "
            f"WHERE run_id IN ({in_runs}) AND invariant_id IS NOT NULL "
            f"GROUP BY invariant_id, scenario_id) AS gone "
            f"WHERE {by_invariant}.invariant_id = gone.invariant_id "
            f"AND {by_invariant}.scenario_id = gone.scenario_id",
            list(run_ids),
        )
        for table in (by_reason, by_invariant):
            cursor.execute(f"DELETE FROM {table} WHERE failure_count = 0")  # noqa: S608


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
