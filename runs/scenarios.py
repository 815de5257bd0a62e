"""Reads for one scenario's history and one invariant's blast radius."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min
from django.shortcuts import get_object_or_404
from django.urls import reverse

from runs.charts import Chart, ChartPoint, line_chart
from runs.models import (
    FAILING,
    Invariant,
    InvariantFailure,
    InvariantTally,
    Project,
    Scenario,
    ScenarioFlake,
    ScenarioResult,
    Status,
)

STRIP_RUNS = 60
MAX_VARIANT_ROWS = 12
RECENT_FAILURES = 30
BLAST_RADIUS_SHOWN = 200


def scenario_for_project(project: Project, key: str) -> Scenario:
    return get_object_or_404(Scenario, project=project, key=key)


def invariant_for_project(project: Project, key: str) -> Invariant:
    return get_object_or_404(Invariant, project=project, key=key)


@dataclass
class RegressionWindow:
    """On the default branch: the last green result and the first failure after it."""

    branch: str
    last_green: ScenarioResult | None
    first_failing: ScenarioResult


@dataclass
class InvariantCount:
    key: str | None
    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass
class VariantRow:
    """One variant's last result in each of the scenario's recent runs (None: not run)."""

    variant: str
    cells: list[ScenarioResult | None]

    @property
    def latest(self) -> ScenarioResult | None:
        return next((cell for cell in reversed(self.cells) if cell is not None), None)


@dataclass
class ScenarioHistory:
    scenario: Scenario
    strip: list[ScenarioResult]
    # Variants side by side, run by run; empty when the scenario ran in one variant only.
    variants: list[VariantRow]
    duration_chart: Chart
    by_invariant: list[InvariantCount]
    flakes: list[ScenarioFlake]
    window: RegressionWindow | None
    latest_on_branch: ScenarioResult | None

    @property
    def is_flaky(self) -> bool:
        return bool(self.flakes)

    @property
    def strip_newest_first(self) -> list[ScenarioResult]:
        return self.strip[::-1]

    @property
    def runs_shown(self) -> int:
        return len(self.variants[0].cells) if self.variants else len(self.strip)


def _regression_window(
    project: Project, scenario: Scenario
) -> tuple[ScenarioResult | None, RegressionWindow | None]:
    # A skipped result says nothing about whether the scenario passes.
    on_branch = (
        ScenarioResult.objects.filter(scenario=scenario, run__branch=project.default_branch)
        .exclude(status=Status.SKIPPED)
        .select_related("run")
    )
    latest = on_branch.order_by("-started_at", "-id").first()
    if latest is not None and latest.status not in FAILING:
        # The newest run's results in every variant: one failing there is the news.
        latest = (
            on_branch.filter(run_id=latest.run_id, status__in=FAILING)
            .order_by("-attempt", "-id")
            .first()
            or latest
        )
    if latest is None or latest.status not in FAILING:
        return latest, None
    # Since when it fails in the variant that fails: another may pass all along.
    on_branch = on_branch.filter(variant=latest.variant)
    last_green = (
        on_branch.filter(status=Status.PASSED, started_at__lt=latest.started_at)
        .order_by("-started_at", "-id")
        .first()
    )
    failing = on_branch.filter(status__in=FAILING)
    if last_green is not None:
        failing = failing.filter(started_at__gt=last_green.started_at)
    first_failing = failing.order_by("started_at", "id").first() or latest
    return latest, RegressionWindow(project.default_branch, last_green, first_failing)


def _variant_rows(scenario: Scenario) -> list[VariantRow]:
    # Bare values first: most scenarios run in one variant, and then no row is shown at all.
    recent = (
        ScenarioResult.objects.filter(scenario=scenario)
        .order_by("-started_at", "-id")
        .values_list("id", "run_id", "variant", "attempt")[: STRIP_RUNS * MAX_VARIANT_ROWS]
    )
    runs: list[int] = []
    final: dict[tuple[int, str], tuple[int, int]] = {}
    for result_id, run_id, variant, attempt in recent:
        if run_id not in runs:
            if len(runs) == STRIP_RUNS:
                continue
            runs.append(run_id)
        known = final.get((run_id, variant))
        if known is None or attempt > known[1]:
            final[run_id, variant] = (result_id, attempt)
    variants = sorted({variant for _, variant in final})
    if len(variants) < 2:
        return []
    shown = variants[:MAX_VARIANT_ROWS]
    results = ScenarioResult.objects.select_related("run", "run__suite").in_bulk(
        [result_id for (_, variant), (result_id, _) in final.items() if variant in shown]
    )
    runs.reverse()
    return [
        VariantRow(
            variant or "(none)",
            [results[final[run, variant][0]] if (run, variant) in final else None for run in runs],
        )
        for variant in shown
    ]


def scenario_history(project: Project, scenario: Scenario) -> ScenarioHistory:
    strip = list(
        ScenarioResult.objects.filter(scenario=scenario)
        .select_related("run", "run__suite")
        .order_by("-started_at", "-id")[:STRIP_RUNS]
    )
    strip.reverse()
    points = [
        ChartPoint(
            label=result.started_at.strftime("%m-%d"),
            value=None if result.duration_ms is None else round(result.duration_ms / 1000, 1),
            href=reverse("run_detail", kwargs={"slug": project.slug, "run_id": result.run_id}),
            note=f"{result.run.external_id} {result.status}",
            over=result.status in FAILING,
        )
        for result in strip
    ]
    by_invariant = [
        InvariantCount(row["invariant__key"], row["count"], row["first"], row["last"])
        for row in InvariantFailure.objects.filter(scenario=scenario)
        .values("invariant__key")
        .annotate(count=Count("id"), first=Min("started_at"), last=Max("started_at"))
        .order_by("-count", "invariant__key")
    ]
    latest, window = _regression_window(project, scenario)
    return ScenarioHistory(
        scenario=scenario,
        strip=strip,
        variants=_variant_rows(scenario),
        duration_chart=line_chart(
            points, title="seconds per run (failed in red)", unit="s", width=1100
        ),
        by_invariant=by_invariant,
        flakes=list(
            ScenarioFlake.objects.filter(scenario=scenario)
            .select_related("failed_run", "passed_run")
            .order_by("-detected_at")[:10]
        ),
        window=window,
        latest_on_branch=latest,
    )


@dataclass
class BlastRadius:
    invariant: Invariant
    # The scenarios that violated it most lately, each with its tally.
    scenarios: list[InvariantTally]
    scenario_count: int
    areas: list[str]
    recent: list[InvariantFailure]

    @property
    def more_scenarios(self) -> int:
        return self.scenario_count - len(self.scenarios)


def invariant_blast_radius(invariant: Invariant) -> BlastRadius:
    """Every scenario that violated the invariant, across runs, and its latest failures: read
    from the tallies, one row per scenario, so a long history costs nothing more."""
    tallies = InvariantTally.objects.filter(invariant=invariant)
    return BlastRadius(
        invariant=invariant,
        scenarios=list(
            tallies.select_related("scenario").order_by("-last_seen", "-failure_count")[
                :BLAST_RADIUS_SHOWN
            ]
        ),
        scenario_count=tallies.count(),
        areas=list(
            tallies.exclude(scenario__area="")
            .order_by("scenario__area")
            .values_list("scenario__area", flat=True)
            .distinct()
        ),
        recent=list(
            InvariantFailure.objects.filter(invariant=invariant)
            .select_related("scenario", "run", "run__suite")
            .order_by("-started_at", "-id")[:RECENT_FAILURES]
        ),
    )
