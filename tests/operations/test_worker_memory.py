"""A Celery worker's pool processes share the memory of the app their parent loaded, so each
process added to the pool costs what it makes of its own, not another copy of Triage."""

import time
from pathlib import Path

import pytest

from tests.workers import Worker, purge_queue, wait_for

pytestmark = pytest.mark.worker


def _kib(pid: int, *fields: str) -> int:
    """The sum of these fields of a process' memory map totals (Linux), in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        values[name] = int(value.split()[0])
    return sum(values[name] for name in fields)


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _settled(pid: int) -> int:
    """A process' own memory once it stops changing (its start-up work done)."""
    readings = [_kib(pid, "Private_Clean", "Private_Dirty")]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.5)
        readings.append(_kib(pid, "Private_Clean", "Private_Dirty"))
        if len(readings) >= 3 and max(readings[-3:]) - min(readings[-3:]) < 256:
            break
    return readings[-1]


def test_a_prefork_workers_processes_share_the_app_their_parent_loaded():
    purge_queue()  # no task left by another test may run in the pool meanwhile
    worker = Worker(processes=2)
    try:
        assert wait_for(lambda: len(_children(worker.process.pid)) == 2, 20)
        for child in _children(worker.process.pid):
            own = _settled(child)
            resident = _kib(child, "Rss")
            # Its own pages stay a small part of what it has resident; when a child walked the
            # inherited objects at start, more than half of them were copied.
            assert own < resident * 0.3, (child, own, resident)
    finally:
        worker.stop()
