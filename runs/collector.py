"""Pausing Python's cyclic garbage collector while a report is read."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Reading a large report (JSON or XML) allocates hundreds of thousands of objects that
    form no reference cycles; left on, the collector rescans them again and again meanwhile.
    Collection waits until the reading is done. The pause is process-wide, so it stays this
    short: a gunicorn worker's other threads collect again as soon as it ends (the first
    pause to end re-enables; nested or overlapping pauses never leave the collector off)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
