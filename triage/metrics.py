"""Prometheus metrics. Counters live in the web process (in multiprocess mode when
PROMETHEUS_MULTIPROC_DIR is set, as under gunicorn); queue depth and dispatch outcomes are
read from the database at scrape time, so they are right whichever process does the work."""

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

REPORTS = Counter(
    "triage_reports_total",
    "Run reports received, by outcome (accepted, replayed, refused) and reason",
    ["outcome", "reason"],
)
INGEST_SECONDS = Histogram(
    "triage_ingest_seconds",
    "Time to store one accepted report",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class DatabaseCollector:
    """Reruns waiting or under way, and reruns by final state."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count

        from triage.models import Rerun

        by_state = dict(
            Rerun.objects.values_list("state")
            .annotate(count=Count("id"))
            .values_list("state", "count")
        )
        depth = GaugeMetricFamily(
            "triage_rerun_queue_depth", "Reruns requested but not yet handed to CI"
        )
        depth.add_metric(
            [], by_state.get(Rerun.State.REQUESTED, 0) + by_state.get(Rerun.State.DISPATCHING, 0)
        )
        yield depth
        outcomes = GaugeMetricFamily(
            "triage_reruns", "Reruns by state (dispatch outcomes)", labels=["state"]
        )
        for state in Rerun.State.values:
            outcomes.add_metric([state], by_state.get(state, 0))
        yield outcomes


def metrics_text() -> bytes:
    registry = CollectorRegistry()
    if os.path.isdir(os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")):
        MultiProcessCollector(registry)
        registry.register(DatabaseCollector())
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    registry.register(DatabaseCollector())
    return generate_latest(REGISTRY) + generate_latest(registry)
