"""Simultaneous posts of one run id through the real server give exactly one run."""

import threading
import time

import pytest
from django.db import connection, transaction

from runs.bulk import catalog_upsert
from runs.models import InvariantFailure, Run, Scenario, ScenarioResult
from tests.builders import a_report, a_scenario, report_bytes
from tests.http import post

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 8


def post_all_at_once(url: str, bodies: list[bytes], token: str) -> list[int]:
    start = threading.Barrier(len(bodies))
    statuses: list[int] = [0] * len(bodies)

    def send(index: int) -> None:
        start.wait()
        statuses[index] = post(url, bodies[index], token=token).status

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def big_report(run_id: str) -> dict:
    return a_report(
        run_id,
        scenarios=[
            a_scenario(f"ADV-{n:03d}", "failed" if n % 5 == 0 else "passed") for n in range(300)
        ],
    )


def test_simultaneous_duplicates_store_one_run(project_and_token, runs_url):
    _, token = project_and_token
    body = report_bytes(big_report("gh-race-1"))

    statuses = post_all_at_once(runs_url("dispatch"), [body] * CLIENTS, token)

    assert sorted(statuses) == [200] * (CLIENTS - 1) + [201]
    run = Run.objects.get()
    assert ScenarioResult.objects.filter(run=run).count() == 300
    assert InvariantFailure.objects.filter(run=run).count() == 60


def test_simultaneous_different_runs_sharing_new_scenarios_are_all_stored(
    project_and_token, runs_url
):
    _, token = project_and_token
    bodies = [report_bytes(big_report(f"gh-parallel-{n}")) for n in range(CLIENTS)]

    statuses = post_all_at_once(runs_url("dispatch"), bodies, token)

    assert statuses == [201] * CLIENTS
    assert Run.objects.count() == CLIENTS
    assert ScenarioResult.objects.count() == 300 * CLIENTS
    assert ScenarioResult.objects.values("scenario_id").distinct().count() == 300


def test_parts_of_one_run_posted_at_once_by_a_matrix_all_land_in_one_run(
    project_and_token, runs_url
):
    _, token = project_and_token
    # Every matrix job finishes at about the same moment and posts its part of one run.
    bodies = [
        report_bytes(
            a_report(
                "gh-matrix-1",
                [
                    a_scenario(f"ADV-{n:03d}", "failed" if n % 5 == 0 else "passed")
                    for n in range(100)
                ],
                part=f"e2e (browser {job})",
                totalParts=CLIENTS,
                variant={"browser": f"b{job}"},
            )
        )
        for job in range(CLIENTS)
    ]

    statuses = post_all_at_once(runs_url("dispatch"), bodies, token)

    assert statuses == [201] * CLIENTS
    run = Run.objects.get()
    assert run.parts_received == CLIENTS and run.parts.count() == CLIENTS
    assert (run.passed_count, run.failed_count) == (80 * CLIENTS, 20 * CLIENTS)
    assert ScenarioResult.objects.filter(run=run).count() == 100 * CLIENTS
    assert ScenarioResult.objects.filter(run=run, attempt=1).count() == 100 * CLIENTS
    # Positions stay unique, so the run page lists every result once, in arrival order.
    assert ScenarioResult.objects.values("position").distinct().count() == 100 * CLIENTS


def test_a_scenario_added_by_another_ingest_meanwhile_takes_the_title_stored_last(
    project_and_token,
):
    """This ingest looks the key up before the other commits, then waits on its insert: the
    scenario is read again once the other commits, and this report's title is kept."""
    project, _ = project_and_token
    added = threading.Event()

    def scenario_of(title: str) -> list[tuple[str, str, str, str]]:
        return [("BID-001", "BID", title, "tests/bids.spec.ts")]

    def upsert(title: str) -> dict[str, int]:
        return catalog_upsert(
            Scenario, scope=("project_id", project.pk), key_field="key",
            fields=["area", "title", "file"], rows=scenario_of(title), refresh=["title", "file"],
        )  # fmt: skip

    def other_ingest() -> None:
        try:
            with transaction.atomic():
                upsert("opens a bid window")
                added.set()
                # Commit only once this test's insert waits on the key's lock.
                for _ in range(200):
                    if _someone_waits_on_a_lock():
                        break
                    time.sleep(0.05)
        finally:
            connection.close()

    other = threading.Thread(target=other_ingest)
    other.start()
    assert added.wait(timeout=10)
    with transaction.atomic():
        ids = upsert("opens a bid window on time")
    other.join(timeout=30)

    stored = Scenario.objects.get(project=project, key="BID-001")
    assert ids == {"BID-001": stored.pk}
    assert stored.title == "opens a bid window on time"


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # The activity view is read once per transaction unless its snapshot is dropped.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
