"""Moving the defect and rerun models out of the `triage` app keeps every table and row.

A database is made by the code as it was before the move (its own checkout, its own
`migrate` and demo data), then migrated by today's code; every table must hold the same
rows, and today's models must read them."""

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

pytestmark = pytest.mark.migration

ROOT = Path(__file__).resolve().parents[2]
# The last commit before the models moved: the schema a running Triage has today.
BEFORE_THE_MOVE = "068bf6131964b94572ec886953c0e8dc52d550b6"
MOVED_TABLES = {
    "triage_team", "triage_team_members", "triage_routingrule", "triage_defect",
    "triage_defectoccurrence", "triage_defectevent", "triage_sharedcause",
    "triage_sharedcause_defects", "triage_triagesettings", "triage_notification",
    "triage_runbookversion", "triage_runbooklink", "triage_triagedrun", "triage_dispatcher",
    "triage_rerun",
}  # fmt: skip
# Rows today's models read, by model, against the table they were written to.
COUNT_SCRIPT = """
import json
from django.apps import apps
counts = {}
for label in ("defects", "reruns", "runs"):
    for model in apps.get_app_config(label).get_models():
        counts[model._meta.db_table] = model.objects.count()
print("COUNTS", json.dumps(counts))
"""


def _checkout(commit: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _manage(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"manage.py {' '.join(args)} in {cwd}:\n{done.stderr}"
    return done.stdout


def _postgres_url(database: str) -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{database}"


@pytest.fixture
def scratch_postgres():
    # Named after the test database, so test runs side by side do not share it.
    scratch = f"{settings.DATABASES['default']['NAME']}_migration_check"
    maintenance = psycopg.connect(_postgres_url("postgres"), autocommit=True)
    maintenance.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
    maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    try:
        yield _postgres_url(scratch)
    finally:
        maintenance.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
        )
        maintenance.close()


def _table_counts(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'django_migrations'"
            )
        ]
        return {
            table: connection.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }


def _clean_env(database_url: str) -> dict[str, str]:
    # The development settings of each checkout: tasks in-process, no broker, no cache server.
    # SECRET_KEY stays: today's settings refuse to start without one, in every mode.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "CACHE_URL", "CELERY_QUEUE")
    }
    return {**env, "DEBUG": "true", "DATABASE_URL": database_url, "LOG_FORMAT": "text"}


def test_a_database_of_the_old_layout_keeps_every_row_after_migrating(tmp_path, scratch_postgres):
    env = _clean_env(scratch_postgres)
    before = _checkout(BEFORE_THE_MOVE, tmp_path / "before")
    _manage(before, env, "migrate", "--no-input")
    _manage(before, env, "seed_demo")
    rows_before = _table_counts(scratch_postgres)
    assert set(rows_before) >= MOVED_TABLES
    # The demo leaves rows in the tables a triager's work lives in.
    for table in ("triage_defect", "triage_defectevent", "triage_defectoccurrence",
                  "triage_team", "triage_routingrule", "triage_runbookversion"):  # fmt: skip
        assert rows_before[table] > 0, table

    _manage(ROOT, env, "migrate", "--no-input")

    rows_after = _table_counts(scratch_postgres)
    # Models added since then bring their content types and permissions, and empty tables.
    grown = {"django_content_type", "auth_permission"}
    assert {t: n for t, n in rows_after.items() if t in rows_before and t not in grown} == {
        t: n for t, n in rows_before.items() if t not in grown
    }
    # Tables added since are empty, but for the reasons, tallies and daily rollups derived
    # from the stored runs.
    derived = {
        "runs_failurereason", "runs_reasontally", "runs_invarianttally", "runs_suiteday",
        "runs_scenarioday",
    }  # fmt: skip
    assert {
        t: n for t, n in rows_after.items() if t not in rows_before and t not in derived
    } == dict.fromkeys(set(rows_after) - set(rows_before) - derived, 0)
    with psycopg.connect(scratch_postgres) as connection:
        without_reason = connection.execute(
            "SELECT count(*) FROM runs_invariantfailure WHERE reason_id IS NULL"
        ).fetchone()[0]
        tallied = connection.execute(
            "SELECT (SELECT sum(failure_count) FROM runs_reasontally), "
            "(SELECT sum(failure_count) FROM runs_invarianttally), "
            "(SELECT count(*) FROM runs_invariantfailure), "
            "(SELECT count(invariant_id) FROM runs_invariantfailure)"
        ).fetchone()
        rolled_up = connection.execute(
            "SELECT (SELECT sum(runs) FROM runs_suiteday), (SELECT count(*) FROM runs_run), "
            "(SELECT sum(failures) FROM runs_scenarioday), "
            "(SELECT count(*) FROM runs_scenarioresult WHERE status IN ('failed', 'error'))"
        ).fetchone()
    assert rows_after["runs_failurereason"] > 0 and without_reason == 0
    # Every stored failure is counted once by reason, and once by invariant when it names one.
    assert tallied[0] == tallied[2] > 0 and tallied[1] == tallied[3] > 0
    # Every stored run is counted once in its suite's day, every failing result in its
    # scenario's.
    assert rolled_up[0] == rolled_up[1] > 0 and rolled_up[2] == rolled_up[3] > 0
    assert all(rows_after[t] >= rows_before[t] for t in grown)
    output = _manage(ROOT, env, "shell", "-c", COUNT_SCRIPT)
    [line] = [line for line in output.splitlines() if line.startswith("COUNTS ")]
    read_by_models = json.loads(line.removeprefix("COUNTS "))
    for table in MOVED_TABLES - {"triage_team_members", "triage_sharedcause_defects"}:
        assert read_by_models[table] == rows_before[table], table
    assert "No changes detected" in _manage(ROOT, env, "makemigrations", "--check", "--dry-run")
    # The data goes on working: loading the demo again finds every run and defect in place.
    assert "0 runs added" in _manage(ROOT, env, "seed_demo")
    assert _table_counts(scratch_postgres)["triage_defect"] == rows_before["triage_defect"]


def test_a_new_database_gets_every_table_of_the_moved_models(scratch_postgres):
    env = _clean_env(scratch_postgres)
    _manage(ROOT, env, "migrate", "--no-input")
    assert set(_table_counts(scratch_postgres)) >= MOVED_TABLES
