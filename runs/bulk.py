"""Insert many rows of one model in one go: COPY on PostgreSQL, bulk INSERT elsewhere."""

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection, models

ORM_BATCH_SIZE = 2000
# New ids from a table's sequence (parameters: table, id column, how many). The sequence is
# looked up once, in a materialized CTE: called in the select list, pg_get_serial_sequence ran
# for every row and took 8 of every 9 milliseconds.
IDS_FROM_SEQUENCE = (
    "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) "
    "SELECT nextval(s.seq) FROM s, generate_series(1, %s)"
)


def bulk_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    return_ids: bool = False,
) -> list[int]:
    """Insert `rows` (values in the order of `fields`, attnames such as `run_id`).

    Returns the new primary keys in row order when `return_ids` is set, else an empty list.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _copy_rows(model, fields, rows, return_ids=return_ids)
    created = model.objects.bulk_create(
        [model(**dict(zip(fields, row, strict=True))) for row in rows],
        batch_size=ORM_BATCH_SIZE,
    )
    return [obj.pk for obj in created] if return_ids else []


def _copy_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    return_ids: bool,
) -> list[int]:
    meta = model._meta
    json_positions = [
        index
        for index, name in enumerate(fields)
        if meta.get_field(name).get_internal_type() == "JSONField"
    ]
    columns = [meta.get_field(name).column for name in fields]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if return_ids:
            # COPY cannot return generated keys, so take them from the sequence first.
            cursor.execute(IDS_FROM_SEQUENCE, [meta.db_table, meta.pk.column, len(rows)])
            ids = [row[0] for row in cursor.fetchall()]
            columns = [meta.pk.column, *columns]
        column_list = ", ".join(connection.ops.quote_name(column) for column in columns)
        statement = f"COPY {connection.ops.quote_name(meta.db_table)} ({column_list}) FROM STDIN"
        # Raw COPY bypasses Django's cursor, so map driver errors to Django's own classes.
        with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for index, row in enumerate(rows):
                values = list(row)
                for position in json_positions:
                    values[position] = json.dumps(values[position], ensure_ascii=False)
                if return_ids:
                    values.insert(0, ids[index])
                copy.write_row(values)
    return ids


def catalog_upsert(
    model: type[models.Model],
    *,
    scope: tuple[str, Any],
    key_field: str,
    fields: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    refresh: Sequence[str] = (),
) -> dict[str, int]:
    """Make sure a catalog row exists per key within `scope`, and return their ids by key.

    `rows` are (key, *values of `fields`). Existing rows keep their values, except the
    `refresh` fields, which take a reported non-empty value that differs. New keys are added
    in key order and conflicts are skipped, so concurrent ingests of the same new keys
    neither deadlock nor fail.
    """
    if not rows:
        return {}
    ordered = sorted(rows, key=lambda row: row[0])
    if connection.vendor == "postgresql":
        return _catalog_upsert_postgresql(model, scope, key_field, fields, ordered, refresh)
    return _catalog_upsert_orm(model, scope, key_field, fields, ordered, refresh)


def _catalog_upsert_orm(
    model: type[models.Model],
    scope: tuple[str, Any],
    key_field: str,
    fields: Sequence[str],
    rows: list[tuple[Any, ...]],
    refresh: Sequence[str],
) -> dict[str, int]:
    scope_field, scope_value = scope
    by_key = {row[0]: dict(zip(fields, row[1:], strict=True)) for row in rows}

    def stored(keys: list[str]) -> dict[str, model]:
        found = {}
        for start in range(0, len(keys), ORM_BATCH_SIZE):
            chunk = keys[start : start + ORM_BATCH_SIZE]
            query = model.objects.filter(**{scope_field: scope_value, f"{key_field}__in": chunk})
            found.update((getattr(obj, key_field), obj) for obj in query)
        return found

    known = stored(list(by_key))
    new_keys = [key for key in by_key if key not in known]
    model.objects.bulk_create(
        [model(**{scope_field: scope_value, key_field: key, **by_key[key]}) for key in new_keys],
        batch_size=ORM_BATCH_SIZE,
        ignore_conflicts=True,
    )
    changed = []
    for key, obj in known.items():
        fresh = {name: by_key[key][name] for name in refresh if by_key[key][name]}
        if any(getattr(obj, name) != value for name, value in fresh.items()):
            for name, value in fresh.items():
                setattr(obj, name, value)
            changed.append(obj)
    if changed and refresh:
        model.objects.bulk_update(changed, list(refresh), batch_size=ORM_BATCH_SIZE)
    known.update(stored(new_keys))
    return {key: obj.pk for key, obj in known.items()}


def _catalog_upsert_postgresql(
    model: type[models.Model],
    scope: tuple[str, Any],
    key_field: str,
    fields: Sequence[str],
    rows: list[tuple[Any, ...]],
    refresh: Sequence[str],
) -> dict[str, int]:
    # Most reports name keys the catalog already holds, so one lookup by array comes first;
    # only the missing keys are inserted (from one array per column, in key order), and only
    # the rows whose refreshed values changed are written.
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [key_field, *fields]
    columns = {name: quote(meta.get_field(name).column) for name in names}
    types = {name: array_of(meta.get_field(name)) for name in names}
    scope_column = quote(meta.get_field(scope[0]).column)
    key_column, pk_column = columns[key_field], quote(meta.pk.column)
    refreshed = [columns[name] for name in refresh]
    position = {name: index for index, name in enumerate(names)}

    def arrays(chosen: Sequence[tuple[Any, ...]], wanted: Sequence[str]) -> list[list[Any]]:
        return [[row[position[name]] for row in chosen] for name in wanted]

    def unnest(wanted: Sequence[str]) -> str:
        return ", ".join(f"%b::{types[name]}" for name in wanted)

    def stored(chosen: Sequence[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        cursor.execute(
            f"SELECT t.{key_column}, t.{pk_column}{''.join(', t.' + c for c in refreshed)} "  # noqa: S608 - names come from model metadata
            f"FROM {table} AS t "
            f"WHERE t.{scope_column} = %s AND t.{key_column} = ANY(%b::{types[key_field]})",
            [scope[1], [row[0] for row in chosen]],
        )
        return {found[0]: found[1:] for found in cursor.fetchall()}

    with binding_cursor() as cursor:
        known = stored(rows)
        missing = [row for row in rows if row[0] not in known]
        added: dict[str, int] = {}
        if missing:
            column_list = ", ".join(columns[name] for name in names)
            cursor.execute(
                f"INSERT INTO {table} ({scope_column}, {column_list}) "  # noqa: S608 - names come from model metadata
                f"SELECT %s, s.* FROM unnest({unnest(names)}) AS s({column_list}) "
                f"ORDER BY s.{key_column} "
                f"ON CONFLICT DO NOTHING RETURNING {key_column}, {pk_column}",
                [scope[1], *arrays(missing, names)],
            )
            added = dict(cursor.fetchall())
            # A key another ingest added meanwhile was skipped above; read it now.
            raced = [row for row in missing if row[0] not in added]
            if raced:
                known.update(stored(raced))
        changed = [
            row
            for row in rows
            if row[0] in known
            and any(
                row[position[name]] and row[position[name]] != value
                for name, value in zip(refresh, known[row[0]][1:], strict=True)
            )
        ]
        # Added only now: rows just inserted hold the reported values, nothing to refresh.
        known.update((key, (pk,)) for key, pk in added.items())
        if changed:
            wanted = [key_field, *refresh]
            assignments = ", ".join(
                f"{columns[name]} = CASE WHEN s.{columns[name]} <> '' "
                f"THEN s.{columns[name]} ELSE t.{columns[name]} END"
                for name in refresh
            )
            aliases = ", ".join(columns[name] for name in wanted)
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} "  # noqa: S608 - names come from model metadata
                f"FROM unnest({unnest(wanted)}) AS s({aliases}) "
                f"WHERE t.{scope_column} = %s AND t.{key_column} = s.{key_column}",
                [*arrays(changed, wanted), scope[1]],
            )
    return {key: found[0] for key, found in known.items()}


def array_of(field: models.Field) -> str:
    """The array type a field's values are sent as: its type without a length, so that a
    value too long for the column is refused when stored, not cut short by the cast."""
    return field.db_type(connection).split("(")[0] + "[]"


class _BindingCursor:
    """A psycopg cursor that binds parameters apart from the statement, logging its
    statements where Django logs its own (so query counts and the query log still see them)."""

    def __init__(self, cursor: psycopg.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        started = time.monotonic()
        try:
            # Not prepared: a connection pooler in transaction mode stays usable.
            self._cursor.execute(sql, params, prepare=False)
        finally:
            if connection.queries_logged:
                connection.queries_log.append(
                    {"sql": sql, "time": f"{time.monotonic() - started:.3f}"}
                )

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cursor.fetchall()


@contextmanager
def binding_cursor() -> Iterator[_BindingCursor]:
    """A cursor for statements with large arrays (`%b`, sent in binary): Django's own cursor
    quotes every parameter into the SQL text, which for arrays of thousands of keys costs
    more than running the statement."""
    with (
        connection.cursor() as django_cursor,
        connection.wrap_database_errors,
        psycopg.Cursor(django_cursor.cursor.connection) as cursor,
    ):
        yield _BindingCursor(cursor)
