"""Reads for the projects home and a project's overview: health at a glance."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, FloatField, Func, Max, OuterRef, Subquery, Sum
from django.urls import reverse
from django.utils import timezone

from runs.access import projects_visible_to
from runs.charts import Chart, ChartPoint, line_chart
from runs.links import run_urls, scenario_urls
from runs.models import (
    InvariantFailure,
    Project,
    Run,
    Scenario,
    ScenarioDay,
    ScenarioFlake,
    ScenarioResult,
    Status,
    Suite,
    SuiteDay,
)

TOP_FAILING = 10
GAPS_LISTED = 10
DURATION_POINTS = 60
STREAK_LOOKBACK = 100


class EpochSeconds(Func):
    """A timestamp as seconds since 1970 (UTC), a float exact to the microsecond: PostgreSQL's
    epoch; in SQLite, from the text Django stores ("2026-11-20 02:00:00.123456"), its whole
    seconds by Julian day and its fraction as written (a Julian day alone is off by some
    microseconds)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::float8"
    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        text, params = compiler.compile(self.source_expressions[0])
        whole = f"ROUND((julianday(substr({text}, 1, 19)) - 2440587.5) * 86400.0)"
        fraction = f"CAST('0' || substr({text}, 20) AS REAL)"
        # The timestamp is written twice, and so are its parameters, if it has any.
        return f"({whole} + {fraction})", [*params, *params]


@dataclass
class SuiteLatest:
    suite: Suite
    run: Run | None
    # The latest first attempt on the project's default branch, when asked for.
    on_default_branch: Run | None = None


def _latest_runs(suites: list[Suite]) -> list[SuiteLatest]:
    default_ids = {s.pk: getattr(s, "latest_default_run_id", None) for s in suites}
    runs = Run.objects.select_related("suite").in_bulk(
        [s.latest_run_id for s in suites if s.latest_run_id]
        + [run_id for run_id in default_ids.values() if run_id]
    )
    return [
        SuiteLatest(
            suite=s, run=runs.get(s.latest_run_id), on_default_branch=runs.get(default_ids[s.pk])
        )
        for s in suites
    ]


def _suites_with_latest(*, on_default_branch: bool = False, **filters: object) -> list[Suite]:
    # The latest first attempt: a rerun of a few scenarios says little about the suite.
    # The project filter lets the lookup walk the (project, suite, started_at) index.
    latest = Run.objects.filter(
        project_id=OuterRef("project_id"), suite=OuterRef("pk"), rerun_of_external_id=""
    ).order_by("-started_at", "-id")
    suites = Suite.objects.filter(**filters).annotate(
        latest_run_id=Subquery(latest.values("id")[:1])
    )
    if on_default_branch:
        on_default = latest.filter(branch=OuterRef("project__default_branch"))
        suites = suites.annotate(latest_default_run_id=Subquery(on_default.values("id")[:1]))
    return list(suites.order_by("project_id", "name"))


@dataclass
class ProjectCard:
    project: Project
    suites: list[SuiteLatest]

    @property
    def open_failures(self) -> int:
        return sum(item.run.failed_count + item.run.error_count for item in self.suites if item.run)


def project_cards(user: AbstractBaseUser | AnonymousUser) -> list[ProjectCard]:
    """Every project the user can see, with the latest run of each suite."""
    projects = list(projects_visible_to(user).order_by("name"))
    by_project: dict[int, list[SuiteLatest]] = defaultdict(list)
    suites = _suites_with_latest(project__in=[p.pk for p in projects])
    for item in _latest_runs(suites):
        by_project[item.suite.project_id].append(item)
    return [ProjectCard(project=p, suites=by_project[p.pk]) for p in projects]


@dataclass
class DayRate:
    day: date
    passed: int
    executed: int
    runs: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.passed / self.executed, 1) if self.executed else None


@dataclass(frozen=True, slots=True)
class RunDuration:
    """One run of a trend's durations: plain values, read hundreds at a time."""

    pk: int
    external_id: str
    started_at: datetime
    duration_ms: int
    over_budget: bool


@dataclass
class SuiteTrend:
    suite: Suite
    latest: Run | None
    days: list[DayRate]
    durations: list[RunDuration]
    pass_rate_chart: Chart
    duration_chart: Chart

    @property
    def over_budget_runs(self) -> int:
        return sum(run.over_budget for run in self.durations)


@dataclass
class Streak:
    suite_name: str
    branch: str
    green: int
    target: int
    last_red: Run | None

    @property
    def done(self) -> bool:
        return self.green >= self.target


@dataclass
class ScenarioCount:
    scenario: Scenario
    count: int
    last_seen: datetime | None = None
    # The scenario's page.
    url: str = ""


@dataclass
class Gap:
    """A failure with no invariant id, with the links of its row."""

    result: ScenarioResult
    scenario_url: str
    run_url: str


@dataclass
class Overview:
    project: Project
    days: int
    trends: list[SuiteTrend]
    streak: Streak
    top_failing: list[ScenarioCount]
    flaky: list[ScenarioCount]
    smoke_not_in_full: list[Scenario]
    smoke_run: Run | None
    full_run: Run | None
    gaps: list[Gap] = field(default_factory=list)


def _day_rates(project: Project, since: date, until: date) -> dict[int, list[DayRate]]:
    """Each suite's days from `since` to `until` (UTC), from the daily rollups: a row a day
    however many runs it had; a day without runs is there, with none."""
    per_suite: dict[int, dict[date, DayRate]] = defaultdict(dict)
    rows = SuiteDay.objects.filter(project=project, day__gte=since, day__lte=until).values_list(
        "suite_id", "day", "runs", "passed", "executed"
    )
    for suite_id, day, runs, passed, executed in rows:
        per_suite[suite_id][day] = DayRate(day, passed, executed, runs)
    span = [since + timedelta(days=offset) for offset in range((until - since).days + 1)]
    return {
        suite_id: [days.get(day) or DayRate(day, 0, 0, 0) for day in span]
        for suite_id, days in per_suite.items()
    }


def _recent_durations(
    project: Project, suite_ids: list[int], since: datetime
) -> dict[int, list[dict]]:
    """Each suite's latest first attempts in the window, at most DURATION_POINTS, oldest
    first: reruns of a few scenarios say nothing about the suite's runtime budget.

    A query per suite walks the (project, suite, started at) index and stops after
    DURATION_POINTS runs, however many runs the window holds (a window function over all of
    them grew with the runs a day); PostgreSQL takes them all as one statement (UNION ALL)."""
    per_suite = [
        Run.objects.filter(
            project=project, suite_id=suite_id, started_at__gte=since, rerun_of_external_id=""
        )
        # Seconds, not a timestamp: a number costs far less to read than a timestamp.
        .annotate(started_epoch=EpochSeconds("started_at"))
        .order_by("-started_at", "-id")
        .values("id", "suite_id", "external_id", "started_epoch", "duration_ms")[:DURATION_POINTS]
        for suite_id in suite_ids
    ]
    if len(per_suite) > 1 and connection.features.supports_slicing_ordering_in_compound:
        rows: Iterable[dict] = per_suite[0].union(*per_suite[1:], all=True)
    else:
        rows = chain.from_iterable(per_suite)
    runs_of: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        runs_of[row["suite_id"]].append(row)
    for runs in runs_of.values():
        runs.sort(key=lambda row: (row["started_epoch"], row["id"]))
    return runs_of


def _suite_trends(project: Project, suites: list[SuiteLatest], days: int) -> list[SuiteTrend]:
    now = timezone.now()
    since = now - timedelta(days=days)
    # Whole days (UTC) from the one the window starts in: a day's rate is the whole day's.
    rates = _day_rates(project, since.date(), now.date())
    durations_of = _recent_durations(project, [item.suite.pk for item in suites], since)
    run_list = reverse("run_list", kwargs={"slug": project.slug})
    run_url = run_urls(project.slug)
    trends = []
    for item in suites:
        suite = item.suite
        durations = [
            RunDuration(
                pk=r["id"], external_id=r["external_id"],
                started_at=datetime.fromtimestamp(r["started_epoch"], UTC),
                duration_ms=r["duration_ms"],
                over_budget=suite.is_over_budget(r["duration_ms"]),
            )
            for r in durations_of.get(suite.pk, [])
        ]  # fmt: skip
        day_rates = rates.get(suite.pk, [])
        # Encoded once a suite: a day (ISO digits and dashes) needs no encoding.
        suite_runs_on = f"{run_list}?{urlencode({'suite': suite.name})}"
        rate_points = [
            ChartPoint(
                label=_month_day(rate.day),
                value=rate.rate,
                href=f"{suite_runs_on}&since={rate.day}&until={rate.day}",
                note=f"{rate.runs} run{'s' if rate.runs != 1 else ''}",
            )
            for rate in day_rates
        ]
        duration_points = [
            ChartPoint(
                label=_month_day(run.started_at),
                value=round(run.duration_ms / 60_000, 1),
                href=run_url(run.pk),
                note=run.external_id,
                over=run.over_budget,
            )
            for run in durations
        ]
        trends.append(
            SuiteTrend(
                suite=suite,
                latest=item.run,
                days=day_rates,
                durations=durations,
                pass_rate_chart=line_chart(
                    rate_points,
                    title=f"{suite.name}: pass rate per day",
                    unit="%",
                    y_max=100,
                    zoom=True,
                ),
                duration_chart=line_chart(
                    duration_points,
                    title=f"{suite.name}: minutes per run (over budget in red)",
                    unit="min",
                    connect=False,
                    budget=suite.budget_minutes,
                ),
            )
        )
    return trends


def _month_day(day: date) -> str:
    return f"{day.month:02d}-{day.day:02d}"


def _streak(project: Project) -> Streak:
    """Consecutive green nights: the last first attempt of each night, a missed night breaks."""
    recent = list(
        Run.objects.filter(
            project=project,
            suite__name=project.full_suite,
            branch=project.default_branch,
            rerun_of_external_id="",
        )
        .only("external_id", "started_at", "status")
        .order_by("-started_at", "-id")[:STREAK_LOOKBACK]
    )
    nights: dict[date, Run] = {}
    for run in recent:
        nights.setdefault(run.started_at.date(), run)
    green = 0
    last_red = None
    expected = None
    for night, run in nights.items():
        if expected is not None and night != expected:
            break
        if run.status != Status.PASSED:
            last_red = run
            break
        green += 1
        expected = night - timedelta(days=1)
    return Streak(
        suite_name=project.full_suite,
        branch=project.default_branch,
        green=green,
        target=project.streak_target,
        last_red=last_red,
    )


def _scenario_counts(
    project: Project, since: datetime
) -> tuple[list[ScenarioCount], list[ScenarioCount]]:
    """The most failing scenarios (daily rollups, whole days (UTC) from the one the window
    starts in: a row per failing scenario and day) and the most flaky ones (flakes since
    `since`), each with its catalog entry.

    One statement for both lists: each ranking keeps its top ten first, and only those are
    joined to the catalog (a join before the ranking took longer than reading the catalog
    apart, measured). Last seen is read as epoch seconds, a number on every database."""
    rankings = [
        ScenarioDay.objects.filter(project=project, day__gte=since.date())
        .values("scenario_id")
        .annotate(count=Sum("failures"), last_seen=EpochSeconds(Max("last_failed_at"))),
        ScenarioFlake.objects.filter(project=project, detected_at__gte=since)
        .values("scenario_id")
        .annotate(count=Count("*"), last_seen=EpochSeconds(Max("detected_at"))),
    ]
    quote = connection.ops.quote_name
    columns = ", ".join(
        [f"ranked.{quote(name)}" for name in ("count", "last_seen")]
        + [f"scenario.{quote(name)}" for name in ("id", "key", "title")]
    )
    catalog = f"{quote(Scenario._meta.db_table)} scenario"
    on = f"scenario.{quote('id')} = ranked.{quote('scenario_id')}"
    statements, params = [], []
    for list_number, ranking in enumerate(rankings):
        # The scenario id last: ties are ranked the same on every read.
        top = ranking.order_by("-count", "-last_seen", "scenario_id")[:TOP_FAILING]
        ranked, ranked_params = top.query.sql_with_params()
        # Names quoted from the models, SQL compiled by the ORM, every value a parameter.
        statements.append(
            f"SELECT {list_number}, {columns} FROM ({ranked}) ranked JOIN {catalog} ON {on}"  # noqa: S608
        )
        params.extend(ranked_params)
    lists: tuple[list[ScenarioCount], list[ScenarioCount]] = ([], [])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(statements), params)
        for list_number, count, last_seen, pk, key, title in cursor.fetchall():
            lists[list_number].append(
                ScenarioCount(
                    Scenario(pk=pk, key=key, title=title),
                    count,
                    datetime.fromtimestamp(last_seen, UTC),
                )
            )
    for counts in lists:
        # UNION ALL keeps no order: each list is ranked again (the same order as in SQL).
        counts.sort(key=lambda item: (-item.count, -item.last_seen.timestamp(), item.scenario.pk))
    return lists


def _latest_first_attempt(project: Project, suites: list[SuiteLatest], name: str) -> Run | None:
    """On the default branch when there is one there: a PR may add scenarios on purpose."""
    item = next((item for item in suites if item.suite.name == name), None)
    if item is None:
        return None
    return item.on_default_branch or item.run


def _smoke_not_in_full(smoke: Run | None, full: Run | None) -> list[Scenario]:
    if smoke is None or full is None:
        return []
    in_full = ScenarioResult.objects.filter(run=full).values("scenario_id")
    missing = (
        ScenarioResult.objects.filter(run=smoke)
        .exclude(scenario_id__in=in_full)
        .values("scenario_id")
    )
    return list(Scenario.objects.filter(pk__in=missing).order_by("key"))


def _gaps(project: Project, since: datetime) -> list[Gap]:
    results = (
        ScenarioResult.objects.filter(project=project, diagnostics_gap=True, started_at__gte=since)
        .select_related("scenario", "run")
        .only("run__external_id", "scenario__key")
        .annotate(
            first_message=Subquery(
                InvariantFailure.objects.filter(result=OuterRef("pk"))
                .order_by("position")
                .values("message")[:1]
            )
        )
        .order_by("-started_at")[:GAPS_LISTED]
    )
    scenario_url, run_url = scenario_urls(project.slug), run_urls(project.slug)
    return [
        Gap(result, scenario_url(result.scenario.key), run_url(result.run_id)) for result in results
    ]


def project_overview(project: Project, *, days: int) -> Overview:
    since = timezone.now() - timedelta(days=days)
    suites = _latest_runs(_suites_with_latest(project=project, on_default_branch=True))
    smoke = _latest_first_attempt(project, suites, project.smoke_suite)
    full = _latest_first_attempt(project, suites, project.full_suite)
    top_failing, flaky = _scenario_counts(project, since)
    scenario_url = scenario_urls(project.slug)
    for item in (*top_failing, *flaky):
        item.url = scenario_url(item.scenario.key)
    return Overview(
        project=project,
        days=days,
        trends=_suite_trends(project, suites, days),
        streak=_streak(project),
        top_failing=top_failing,
        flaky=flaky,
        smoke_not_in_full=_smoke_not_in_full(smoke, full),
        smoke_run=smoke,
        full_run=full,
        gaps=_gaps(project, since),
    )
