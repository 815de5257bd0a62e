"""Tables of running totals (the failure tallies, the daily rollups): rows added into them at
ingest and taken out again when runs are pruned. A row stands for one key (the table's unique
constraint); its counts are summed, and the earliest and latest of its times are kept."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

from runs.bulk import array_of, binding_cursor


@dataclass(frozen=True)
class Totals:
    """How one table of running totals is laid out, by column."""

    model: type[models.Model]
    # The columns of the table's unique constraint.
    key: tuple[str, ...]
    # Written with a new key and never changed (the project it belongs to).
    carried: tuple[str, ...]
    # Summed; when the first comes down to zero, the row counts nothing and goes.
    counts: tuple[str, ...]
    earliest: tuple[str, ...] = ()
    latest: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [*self.key, *self.carried, *self.counts, *self.earliest, *self.latest]

    def field(self, column: str) -> models.Field:
        return self.model._meta.get_field(column.removesuffix("_id"))


def _adapters(totals: Totals, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    # Dates and times as the database takes them from raw SQL (SQLite wants Django's text).
    adapters: list[Callable[[Any], Any] | None] = []
    for column in columns:
        field = totals.field(column)
        if isinstance(field, models.DateTimeField):
            adapters.append(connection.ops.adapt_datetimefield_value)
        elif isinstance(field, models.DateField):
            adapters.append(connection.ops.adapt_datefield_value)
        else:
            adapters.append(None)
    return adapters


def _adapted(adapters: list[Callable[[Any], Any] | None], values: Sequence[Any]) -> list[Any]:
    return [
        value if adapt is None else adapt(value)
        for adapt, value in zip(adapters, values, strict=True)
    ]


def totals_add(totals: Totals, rows: Mapping[tuple, Sequence[Any]]) -> None:
    """Add rows, each a key and its values (carried, counts, earliest, latest, in the order of
    `Totals`): a new key is inserted, a known one adds its counts and keeps the earlier and
    the later of its times. Written in key order, so that every writer locks rows alike."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(totals.model._meta.db_table)
    columns = totals.columns
    assignments = [f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in totals.counts]
    # CASE rather than LEAST/GREATEST: SQLite reads it too.
    for chosen, compare in ((totals.earliest, "<"), (totals.latest, ">")):
        assignments += [
            f"{quote(c)} = CASE WHEN excluded.{quote(c)} {compare} {table}.{quote(c)} "
            f"THEN excluded.{quote(c)} ELSE {table}.{quote(c)} END"
            for c in chosen
        ]
    on_conflict = (
        f"ON CONFLICT ({', '.join(quote(c) for c in totals.key)}) "
        f"DO UPDATE SET {', '.join(assignments)}"
    )
    insert = f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "
    adapters = _adapters(totals, columns)
    values = [_adapted(adapters, (*key, *rows[key])) for key in sorted(rows)]
    if connection.vendor == "postgresql":
        # One array per column: a statement of as many parameters as columns, however many rows.
        arrays = ", ".join(f"%b::{array_of(totals.field(column))}" for column in columns)
        with binding_cursor() as cursor:
            cursor.execute(
                f"{insert} SELECT * FROM unnest({arrays}) {on_conflict}",  # noqa: S608 - names from model metadata
                [list(column) for column in zip(*values, strict=True)],
            )
        return
    per_row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    batch = max(1, (connection.features.max_query_params or 999) // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(values), batch):
            chunk = values[start : start + batch]
            cursor.execute(
                f"{insert} VALUES {', '.join([per_row] * len(chunk))} {on_conflict}",
                [value for row in chunk for value in row],
            )


def totals_subtract(totals: Totals, rows: Mapping[tuple, Sequence[int]]) -> None:
    """Take counts out (each key with its counts, in the order of `Totals.counts`); a row that
    counts nothing any more goes. Earliest and latest stay: they say when it happened.

    Rows are updated one by one in key order, as `totals_add` locks them, so a prune and an
    ingest never wait on each other in a circle. A count never goes below zero, even for rows
    stored around the totals (by a restore, or by code older than them)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(totals.model._meta.db_table)
    where = " AND ".join(f"{quote(column)} = %s" for column in totals.key)
    lowered = ", ".join(
        f"{quote(c)} = CASE WHEN {quote(c)} > %s THEN {quote(c)} - %s ELSE 0 END"
        for c in totals.counts
    )
    adapters = _adapters(totals, totals.key)
    keys = [(key, _adapted(adapters, key)) for key in sorted(rows)]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {lowered} WHERE {where}",  # noqa: S608 - names from model metadata
            [[n for count in rows[key] for n in (count, count)] + stored for key, stored in keys],
        )
        cursor.executemany(
            f"DELETE FROM {table} WHERE {where} AND {quote(totals.counts[0])} = 0",  # noqa: S608 - names from model metadata
            [stored for _, stored in keys],
        )
