"""/healthz: whether the database and the task broker answer."""

import time

import pytest


@pytest.mark.django_db
def test_healthz_checks_the_database_and_the_broker(client):
    from operations.heartbeat import heartbeat_record

    heartbeat_record()  # a worker finished a task just now
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "problems": []}


@pytest.mark.django_db
def test_healthz_says_so_when_no_worker_has_finished_a_task_for_too_long(client, settings):
    from operations.heartbeat import heartbeat_record

    heartbeat_record(now=time.time() - 120)
    settings.WORKER_STALE_SECONDS = 0  # any quiet at all is too long
    stale = client.get("/healthz")
    settings.WORKER_STALE_SECONDS = 60
    heartbeat_record()
    fresh = client.get("/healthz")

    assert stale.status_code == 503 and stale.json()["problems"][0].startswith("worker: no task")
    assert fresh.status_code == 200


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_a_real_worker_finishes_is_its_heartbeat(client, settings):
    from django.core.cache import cache

    from defects.periodic import escalate_defects
    from operations.heartbeat import KEY
    from tests.workers import Worker, purge_queue, wait_for

    cache.delete(KEY)
    purge_queue()
    worker = Worker()
    try:
        escalate_defects.delay()
        assert wait_for(lambda: cache.get(KEY) is not None, 30), worker.log()
    finally:
        worker.stop()
    settings.WORKER_STALE_SECONDS = 60
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_a_heartbeat_from_before_this_process_started_does_not_fail_a_fresh_start(settings):
    from operations.heartbeat import STARTED, heartbeat_problem, heartbeat_record

    settings.WORKER_STALE_SECONDS = 600
    heartbeat_record(now=STARTED - 86_400)  # the stack was down a day, Redis kept the stamp

    assert heartbeat_problem(now=STARTED + 60) is None
    assert heartbeat_problem(now=STARTED + 601).startswith("worker: no task")
