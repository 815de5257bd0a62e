"""What every bench script does first: point Django at a bench database, and make sure it
exists. The scripts empty their database, so only a name starting triage_bench is accepted."""

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def configure(database: str, **extra: str) -> None:
    """Environment defaults for a bench run; what the caller's shell sets still wins."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("STATIC_FROM_SOURCE", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name, value in extra.items():
        os.environ.setdefault(name, value)


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.startswith("triage_bench"):
        raise SystemExit(f"refusing to use database {name!r}: its name must start triage_bench")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def next_ids(cursor: object, table: str, count: int) -> list[int]:
    """Primary keys taken from the table's sequence, for rows written by COPY."""
    rows = cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        [table, count],
    ).fetchall()
    return [row[0] for row in rows]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
