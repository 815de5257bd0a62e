"""Index operations for a large table while ingest writes to it (not a migration: the
loader skips modules whose name starts with an underscore)."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations

# On PostgreSQL the index is built and dropped CONCURRENTLY, so ingest keeps writing results
# while a large table is indexed; other databases (the embedded SQLite) do it plainly.


class _OnlineOnPostgreSQL:
    plain: type[migrations.AddIndex] | type[migrations.RemoveIndex]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexOnline(_OnlineOnPostgreSQL, AddIndexConcurrently):
    plain = migrations.AddIndex

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            # Outside a transaction, an earlier attempt that failed or was cancelled may have
            # left this index behind (built, or INVALID): it is built again from scratch.
            name = schema_editor.quote_name(self.index.name)
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        super().database_forwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexOnline(_OnlineOnPostgreSQL, RemoveIndexConcurrently):
    plain = migrations.RemoveIndex

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            # Going back builds the old index again; a failed attempt may have left it behind.
            name = schema_editor.quote_name(self.name)
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        super().database_backwards(app_label, schema_editor, from_state, to_state)
