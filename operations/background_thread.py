"""Short work a request starts and nobody waits for, done on one thread of this process while
the request goes on: no broker and no worker in between, so it starts within a millisecond.

Only work that may be lost is put here: whoever hands it over keeps a record (a claimed row,
a lease) from which a sweep redoes what a dying process did not finish. The thread keeps its
database connection between jobs and lets go of it when idle, and at exit it finishes what it
was given before the process ends."""

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)
IDLE_SECONDS = 5.0
DRAIN_SECONDS = 30.0

Jobs = queue.Queue[Callable[[], object] | None]
_lock = threading.Lock()
# The thread and its own queue: a drained thread's queue is never handed new work.
_current: tuple[threading.Thread, Jobs] | None = None


def run_in_background(work: Callable[[], object]) -> None:
    """Queue `work` for the background thread, starting it when this process has none."""
    global _current
    with _lock:
        if _current is None or not _current[0].is_alive():
            jobs: Jobs = queue.Queue()
            thread = threading.Thread(target=_serve, args=(jobs,), name="background", daemon=True)
            thread.start()
            _current = (thread, jobs)
        _current[1].put(work)
    # Let the thread take the interpreter now, not at this thread's next wait for I/O: its
    # work is the first to leave the process.
    time.sleep(0)


def background_drain(timeout: float = DRAIN_SECONDS) -> None:
    """Finish the queued work and close the thread's database connection; the next job starts
    a new thread. Runs at exit, and in tests before their database goes."""
    global _current
    with _lock:
        drained, _current = _current, None
    if drained is not None:
        thread, jobs = drained
        jobs.put(None)
        thread.join(timeout)


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
