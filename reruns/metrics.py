"""Rerun figures for `/metrics`, read from the database at scrape time (METRICS_COLLECTORS)."""

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily

from reruns.models import Rerun


class RerunCollector:
    """Reruns waiting or under way, and reruns by final state."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
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
