"""Insert many rows of one model in one go: COPY on PostgreSQL, bulk INSERT elsewhere."""

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models

ORM_BATCH_SIZE = 2000


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
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
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
