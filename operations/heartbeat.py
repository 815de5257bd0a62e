"""The workers' heartbeat: every task a worker finishes stamps the time in the shared cache, so
`/healthz` can tell a broker nobody consumes from a healthy one (beat runs a task a minute)."""

import contextlib
import time

from celery.signals import task_postrun
from django.conf import settings
from django.core.cache import cache

KEY = "triage:worker-heartbeat"
# This web process's start: a worker is given that long to show up before it counts as gone.
STARTED = time.time()


def heartbeat_record(now: float | None = None) -> None:
    # A cache outage must not fail the task that just ran.
    with contextlib.suppress(Exception):
        cache.set(KEY, now or time.time(), timeout=None)


def heartbeat_problem(now: float | None = None) -> str | None:
    """Why the workers look gone, or None: no task finished within WORKER_STALE_SECONDS (of
    the last heartbeat, or of this process's start when there was none)."""
    now = now or time.time()
    try:
        last = cache.get(KEY)
    except Exception as exc:
        return f"worker heartbeat: {exc.__class__.__name__}"
    # A stamp from before this process started (the stack was down a while) says nothing
    # against workers that are only now starting: they get the same grace as a first start.
    since = max(float(last), STARTED) if last is not None else STARTED
    quiet = now - since
    if quiet > settings.WORKER_STALE_SECONDS:
        return f"worker: no task finished for {int(quiet)} s"
    return None


@task_postrun.connect
def _task_finished(**_: object) -> None:
    heartbeat_record()
