"""How a long-lived Triage process (a gunicorn worker, a Celery worker) runs Python's cyclic
garbage collector.

Nearly everything a request or a task makes is freed by reference counting the moment it is
done with; the cyclic collector is only for the rare cycle. With CPython's first threshold
(700 new objects), reading a report of 10,000 scenarios, a few hundred thousand objects alive
together, has the collector walk them over and over while they are in use: a sixth of that
report's ingest, measured (`bench/ingest.py`). Collecting every 50,000 new objects keeps what
a cycle can hold back to a few megabytes."""

import gc

THRESHOLDS = (50_000, 20, 100)


def collector_tuned_for_serving() -> None:
    """Once the app is loaded: what it loaded is frozen (left out of every later full
    collection, which then has less to walk while a request waits; the garbage of loading is
    collected first, or it would stay forever), and new objects are collected less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
