"""Reads for one failure reason: where it struck (scenarios, variants), since when, how often."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Min
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone

from runs.charts import Chart, ChartPoint, line_chart
from runs.models import FailureReason, InvariantFailure, Project

TREND_DAYS = 30
SCENARIOS_SHOWN = 200
EXAMPLES_SHOWN = 10


def reason_for_project(project: Project, reason_id: int) -> FailureReason:
    return get_object_or_404(FailureReason, project=project, pk=reason_id)


@dataclass(frozen=True)
class ReasonHit:
    scenario_key: str
    variant: str
    count: int
    last_seen: datetime


@dataclass
class ReasonHistory:
    reason: FailureReason
    failures: int
    first_seen: datetime | None
    last_seen: datetime | None
    hits: list[ReasonHit]
    examples: list[InvariantFailure]
    trend: Chart

    @property
    def scenario_count(self) -> int:
        return len({hit.scenario_key for hit in self.hits})


def reason_history(reason: FailureReason) -> ReasonHistory:
    failures = InvariantFailure.objects.filter(reason=reason)
    span = failures.aggregate(count=Count("id"), first=Min("started_at"), last=Max("started_at"))
    hits = [
        ReasonHit(row["scenario__key"], row["result__variant"], row["count"], row["last"])
        for row in failures.values("scenario__key", "result__variant")
        .annotate(count=Count("id"), last=Max("started_at"))
        .order_by("-last", "scenario__key")[:SCENARIOS_SHOWN]
    ]
    today = timezone.now().date()
    since = today - timedelta(days=TREND_DAYS - 1)
    per_day: dict[date, int] = dict(
        failures.filter(started_at__date__gte=since)
        .annotate(day=TruncDate("started_at"))
        .values_list("day")
        .annotate(count=Count("id"))
        .order_by()
    )
    days = [since + timedelta(days=n) for n in range(TREND_DAYS)]
    trend = line_chart(
        [ChartPoint(label=d.strftime("%m-%d"), value=per_day.get(d, 0)) for d in days],
        title=f"failures per day, last {TREND_DAYS} days",
        unit="",
    )
    return ReasonHistory(
        reason=reason,
        failures=span["count"],
        first_seen=span["first"],
        last_seen=span["last"],
        hits=hits,
        examples=list(
            failures.select_related("scenario", "run", "result").order_by("-started_at", "-id")[
                :EXAMPLES_SHOWN
            ]
        ),
        trend=trend,
    )
