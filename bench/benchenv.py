"""What every bench script does first: point Django at a bench database, and make sure it
exists. The scripts empty their database, so only a name starting triage_bench is accepted."""

import os
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse
from xml.sax.saxutils import escape, quoteattr

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


def open_bench_database(*, empty: bool) -> None:
    """Django on the bench database, created when missing and migrated; with `empty`, every
    project and user (and all that hangs off them) deleted first."""
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if empty:
        empty_bench_database()


def empty_bench_database() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE runs_project, auth_user CASCADE")


def next_ids(cursor: object, table: str, count: int) -> list[int]:
    """Primary keys taken from the table's sequence, for rows written by COPY: as ingest
    takes them."""
    from runs.bulk import IDS_FROM_SEQUENCE

    rows = cursor.execute(IDS_FROM_SEQUENCE, [table, "id", count]).fetchall()
    return [row[0] for row in rows]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


JUNIT_AREAS = ("SCH", "BID", "NOS", "HLT", "API", "UI", "ADV")
JUNIT_PER_SUITE = 100


def junit_report(tests: int, *, seed: int = 7) -> bytes:
    """A JUnit file as pytest or Surefire writes it: `tests` test cases in suites of 100,
    about 5% failing with a traceback, 2% skipped and some printing output. Every other name
    carries a scenario id (`test_BID_00042_…`), as a suite that follows the runbook does."""
    rng = random.Random(seed)
    # An hour ago: a start in the future would be dropped by the reader.
    started = datetime.now(UTC).replace(microsecond=0, tzinfo=None) - timedelta(hours=1)
    suites = [
        _junit_suite(rng, first, min(first + JUNIT_PER_SUITE, tests), started)
        for first in range(0, tests, JUNIT_PER_SUITE)
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="integration">\n'
        + "".join(suites)
        + "</testsuites>\n"
    ).encode()


def _junit_suite(rng: random.Random, first: int, end: int, started: datetime) -> str:
    area = JUNIT_AREAS[first // JUNIT_PER_SUITE % len(JUNIT_AREAS)]
    module = f"tests.integration.{area.lower()}.test_{area.lower()}_{first // JUNIT_PER_SUITE:03d}"
    counts = {"failure": 0, "skipped": 0}
    cases, total = [], 0.0
    for n in range(first, end):
        seconds = rng.uniform(0.01, 3.0)
        total += seconds
        name = (
            f"test_{area}_{n:05d}_keeps_tenants_apart"
            if n % 2 == 0
            else f"test_resolve_case_{n}_picks_one_winner"
        )
        roll, body = rng.random(), ""
        if roll < 0.05:
            counts["failure"] += 1
            body = _junit_failure(rng, n, module, name)
        elif roll < 0.07:
            counts["skipped"] += 1
            body = '<skipped type="pytest.skip" message="needs the payments sandbox"/>'
        elif roll < 0.12:
            body = f"<system-out>{escape(_printed(n))}</system-out>"
        cases.append(
            f'    <testcase classname="{module}" name="{name}" time="{seconds:.3f}"'
            + (f">{body}</testcase>\n" if body else "/>\n")
        )
    return (
        f'  <testsuite name="{module}" tests="{end - first}" failures="{counts["failure"]}" '
        f'errors="0" skipped="{counts["skipped"]}" time="{total:.3f}" '
        f'timestamp="{started.isoformat()}" hostname="ci-runner-3">\n'
        + "".join(cases)
        + "  </testsuite>\n"
    )


def _junit_failure(rng: random.Random, n: int, module: str, name: str) -> str:
    if n % 3 == 0:
        message = f"AssertionError: TENANT-{n % 40:03d} notification for bw-{n} reached org-b"
    else:
        message = f"AssertionError: assert {rng.randint(2, 5)} == 1 (winners of bw-{n})"
    trace = "\n".join(
        [
            f"self = <{module}.Test object at 0x7f{n:010x}>",
            f"    def {name}(self):",
            f"        winners = resolve(window='bw-{n}')",
            ">       assert len(winners) == 1",
            f"E       {message}",
            "",
            f"{module.replace('.', '/')}.py:{40 + n % 200}: {message.split(':')[0]}",
        ]
    )
    return (
        f'<failure message={quoteattr(message)} type="AssertionError">{escape(trace)}</failure>'
        f"<system-out>{escape(_printed(n))}</system-out>"
    )


def _printed(n: int) -> str:
    return "\n".join(
        [
            f"2026-11-20 02:00:{n % 60:02d} INFO seeding org-a and org-b for case {n}",
            f"2026-11-20 02:00:{n % 60:02d} DEBUG POST /api/bid-windows/bw-{n} -> 201",
            f"2026-11-20 02:00:{n % 60:02d} INFO resolved bw-{n} in {n % 97} ms",
        ]
    )
