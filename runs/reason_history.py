"""Reads for one failure reason: where it struck (scenarios, variants), since when, how often."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404
from django.utils import timezone

from runs.charts import Chart, ChartPoint, line_chart
from runs.models import FailureReason, InvariantFailure, Project, ReasonTally

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
    scenario_count: int


def reason_history(reason: FailureReason) -> ReasonHistory:
    """Read from the reason's tallies (one row per scenario and variant) and from its newest
    failures only, so an outage-sized reason with a long history reads as fast as a new one."""
    failures = InvariantFailure.objects.filter(reason=reason)
    tallies = ReasonTally.objects.filter(reason=reason)
    span = tallies.aggregate(
        count=Sum("failure_count"),
        scenarios=Count("scenario_id", distinct=True),
        first=Min("first_seen"),
        last=Max("last_seen"),
    )
    hits = [
        ReasonHit(tally.scenario.key, tally.variant, tally.failure_count, tally.last_seen)
        for tally in tallies.select_related("scenario").order_by("-last_seen", "scenario__key")[
            :SCENARIOS_SHOWN
        ]
    ]
    today = timezone.now().date()
    since = today - timedelta(days=TREND_DAYS - 1)
    since_midnight = timezone.make_aware(datetime.combine(since, time.min), UTC)
    per_day: dict[date, int] = dict(
        failures.filter(started_at__gte=since_midnight)
        .annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values_list("day")
        .annotate(count=Count("*"))  # not of the id: the reason's index answers alone
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
        failures=span["count"] or 0,
        scenario_count=span["scenarios"],
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
