"""Prometheus metrics. Counters live in the web process (in multiprocess mode when
PROMETHEUS_MULTIPROC_DIR is set, as under gunicorn); the collectors named in
METRICS_COLLECTORS read the database at scrape time, so their figures are right whichever
process does the work."""

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
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


def metrics_text() -> bytes:
    registry = CollectorRegistry()
    for path in settings.METRICS_COLLECTORS:
        registry.register(import_string(path)())
    if os.path.isdir(os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")):
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(registry)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if settings.METRICS_TOKEN:
        expected = f"Bearer {settings.METRICS_TOKEN}".encode()
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return HttpResponse("metrics need the metrics token\n", status=401)
    elif not settings.METRICS_PUBLIC:
        return HttpResponse(
            "metrics are off: set METRICS_TOKEN (or METRICS_PUBLIC=true on a private network)\n",
            status=403,
        )
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
