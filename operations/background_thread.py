"""Short work a request starts and nobody waits for, done on a few threads of this process
while the request goes on: no broker and no worker in between, so it starts within a
millisecond.

Only work that may be lost is put here: whoever hands it over keeps a record (a claimed row,
a lease) from which a sweep redoes what a dying process did not finish. Each thread keeps its
database connection between jobs and lets go of it when idle; at exit the threads finish what
they were given before the process ends."""

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)
# A few threads, so that one slow call (a CI that takes its whole timeout) does not hold up
# the others; each holds a database connection only while it has work.
THREADS = 4
IDLE_SECONDS = 5.0
DRAIN_SECONDS = 30.0

Jobs = queue.Queue[Callable[[], object] | None]


@dataclass
class _Pool:
    jobs: Jobs
    threads: list[threading.Thread]


_lock = threading.Lock()
# A drained pool's queue is never handed new work: the next job starts a pool of its own.
_current: _Pool | None = None


def run_in_background(work: Callable[[], object]) -> None:
    """Queue `work` for the background threads, starting them when this process has none
    (the first job after start, a fork or a drain)."""
    global _current
    with _lock:
        if _current is None or not all(thread.is_alive() for thread in _current.threads):
            if _current is not None:
                # A thread that died (or a fork, which keeps none): the others of its pool
                # are told to stop, not left waiting on a queue nobody fills.
                for _ in _current.threads:
                    _current.jobs.put(None)
            jobs: Jobs = queue.Queue()
            threads = [
                threading.Thread(target=_serve, args=(jobs,), name="background", daemon=True)
                for _ in range(THREADS)
            ]
            for thread in threads:
                thread.start()
            _current = _Pool(jobs, threads)
        _current.jobs.put(work)
    # Let a thread take the interpreter now, not at this thread's next wait for I/O: its
    # work is the first to leave the process.
    time.sleep(0)


def background_drain(timeout: float = DRAIN_SECONDS) -> bool:
    """Finish the queued work and close the threads' database connections; the next job
    starts new threads. Runs at exit, and in tests before their database goes. False when
    work was still running at the timeout."""
    global _current
    with _lock:
        drained, _current = _current, None
    if drained is None:
        return True
    for _ in drained.threads:
        drained.jobs.put(None)
    deadline = time.monotonic() + timeout
    for thread in drained.threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in drained.threads)


def _serve(jobs: Jobs) -> None:
    while True:
        try:
            work = jobs.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            # An idle thread holds no connection: the database counts every one.
            connections.close_all()
            work = jobs.get()
        if work is None:
            connections.close_all()
            return
        close_old_connections()
        try:
            work()
        except Exception:
            logger.exception("background work failed")


atexit.register(background_drain)
