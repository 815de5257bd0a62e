"""Pausing Python's cyclic garbage collector while a report is read."""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The collector is one per process and a gunicorn worker reads reports on several threads:
# the first pause to begin turns it off, the last to end turns it back on.
_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Reading a large report (JSON or XML) allocates hundreds of thousands of objects that
    form no reference cycles; left on, the collector rescans them again and again meanwhile.
    Collection waits until no report is being read in this process; reading is the short part
    of storing one, so the collector is off only for as long."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
