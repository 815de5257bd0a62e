"""How a long-lived Triage process (a gunicorn worker, a Celery worker) runs Python's cyclic
garbage collector.

Nearly everything a request or a task makes is freed by reference counting the moment it is
done with; the cyclic collector is there for the rare cycle. With CPython's first threshold
(700 new objects), the few hundred thousand objects of a large report, alive together from its
reading until it is stored, are walked by collection after collection, full ones included
(reading itself pauses the collector: `runs.collector`). Collecting the youngest objects every
10,000 new ones instead took 6 % off a 10,000-scenario report's ingest in a worker-like
process (frozen as below; 581-588 -> 549-553 ms a report, 3 full collections in 15 ingests
where there were 24, the same peak memory). The older generations keep CPython's thresholds:
each is still collected after ten collections of the one below."""

import gc

YOUNGEST_EVERY = 10_000


def worker_gc_tuned() -> None:
    """Once the app is loaded: what it loaded is frozen (left out of every later full
    collection, which then has less to walk while a request waits; the garbage of loading is
    collected first, or it would stay forever), and the youngest objects are collected less
    often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNGEST_EVERY)  # the older generations' thresholds stay as they are
