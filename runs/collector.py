"""Pausing Python's cyclic garbage collector while one report is read and stored."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Reading and storing a report allocates hundreds of thousands of objects that form no
    reference cycles. Left on, the collector scans them again and again meanwhile (a tenth of
    a large report's ingest); paused until they are freed by their reference counts, they are
    never scanned at all. Nested pauses leave the collector to the outermost."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
