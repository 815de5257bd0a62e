"""Keep the daily rollups the overview reads: per suite and day (UTC), its runs and their
tests passed and executed (`SuiteDay`); per scenario and day, its failing results and when it
last failed (`ScenarioDay`). Ingest adds, a part joining its run moves the run's share,
pruning subtracts; the overview reads a row per suite or failing scenario and day, however
many runs a day brings.

Written after the tallies in every transaction, suite days before scenario days, each in key
order: writers lock these rows alike and so never wait on each other in a circle. A recount
deletes and writes a project's rows wholesale; it is run while the project receives no
reports (README)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db.models import Count, F, Max, QuerySet, Sum
from django.db.models.functions import TruncDate

from runs.models import FAILING, Run, ScenarioDay, ScenarioResult, SuiteDay
from runs.totals import Totals, totals_add, totals_subtract

SUITE_DAYS = Totals(
    SuiteDay,
    key=("suite_id", "day"),
    carried=("project_id",),
    counts=("runs", "passed", "executed"),
)
SCENARIO_DAYS = Totals(
    ScenarioDay,
    key=("scenario_id", "day"),
    carried=("project_id",),
    counts=("failures",),
    latest=("last_failed_at",),
)


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _share(run: Run) -> tuple[tuple[int, date], list[int]]:
    """A run's share of its suite's day: one run, its tests that passed, those that ran."""
    executed = run.passed_count + run.failed_count + run.error_count
    return (run.suite_id, utc_day(run.started_at)), [1, run.passed_count, executed]


@dataclass
class RollupSums:
    """Shares of the rollups by key: (suite id, day) -> [runs, passed, executed] and
    (scenario id, day) -> [failures, last failed at]."""

    suite_days: dict[tuple[int, date], list[int]] = field(default_factory=dict)
    scenario_days: dict[tuple[int, date], list] = field(default_factory=dict)

    def add_run(self, run: Run) -> None:
        key, added = _share(run)
        share = self.suite_days.setdefault(key, [0, 0, 0])
        for index, count in enumerate(added):
            share[index] += count

    def add_failing(self, scenario_id: int, started_at: datetime) -> None:
        key = (scenario_id, utc_day(started_at))
        share = self.scenario_days.get(key)
        if share is None:
            self.scenario_days[key] = [1, started_at]
        else:
            share[0] += 1
            share[1] = max(share[1], started_at)


def rollups_add(project_id: int, sums: RollupSums) -> None:
    """Count a project's newly stored runs and failing results in (last in the ingest's
    transaction)."""
    totals_add(SUITE_DAYS, {key: (project_id, *share) for key, share in sums.suite_days.items()})
    totals_add(
        SCENARIO_DAYS, {key: (project_id, *share) for key, share in sums.scenario_days.items()}
    )


def rollups_subtract(sums: RollupSums) -> None:
    """Take runs and failing results out (last in the deleting transaction); a day that counts
    nothing any more goes. A scenario's last failure time stays: it says when it struck."""
    totals_subtract(SUITE_DAYS, sums.suite_days)
    totals_subtract(SCENARIO_DAYS, {key: share[:1] for key, share in sums.scenario_days.items()})


def _of_failing(failing: Iterable[tuple[int, datetime]]) -> RollupSums:
    """Failing results, as (scenario id, start), summed by scenario and day."""
    sums = RollupSums()
    for scenario_id, started_at in failing:
        sums.add_failing(scenario_id, started_at)
    return sums


def rollups_of_new_run(run: Run, failing: Iterable[tuple[int, datetime]]) -> RollupSums:
    """What a run just stored adds: its share of its suite's day, and its failing results
    as (scenario id, start)."""
    sums = _of_failing(failing)
    sums.add_run(run)
    return sums


def rollups_move_run(before: Run, after: Run, failing: Iterable[tuple[int, datetime]]) -> None:
    """A part joined `before`, making it `after`: its counts grew, and its start may have
    moved to an earlier day. The run's share follows it, and the part's failing results (as
    (scenario id, start)) are added."""
    old_key, old = _share(before)
    new_key, new = _share(after)
    if new_key == old_key:
        # The same day: what the part added, and no run more.
        totals_add(SUITE_DAYS, {new_key: (after.project_id, 0, new[1] - old[1], new[2] - old[2])})
    else:
        # An earlier day (a run's start only moves back): its row first, as every writer
        # locks rows in key order.
        totals_add(SUITE_DAYS, {new_key: (after.project_id, *new)})
        totals_subtract(SUITE_DAYS, {old_key: old})
    # Scenario days after suite days, as in every writer.
    rollups_add(after.project_id, _of_failing(failing))


def _summed(runs: QuerySet[Run], results: QuerySet[ScenarioResult]) -> RollupSums:
    sums = RollupSums()
    by_suite_day = (
        runs.annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values("suite_id", "day")
        .annotate(
            runs=Count("id"),
            passed=Sum("passed_count"),
            executed=Sum(F("passed_count") + F("failed_count") + F("error_count")),
        )
        .order_by()
    )
    for row in by_suite_day:
        sums.suite_days[row["suite_id"], row["day"]] = [row["runs"], row["passed"], row["executed"]]
    by_scenario_day = (
        results.filter(status__in=FAILING)
        .annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values("scenario_id", "day")
        .annotate(failures=Count("id"), last=Max("started_at"))
        .order_by()
    )
    for row in by_scenario_day:
        sums.scenario_days[row["scenario_id"], row["day"]] = [row["failures"], row["last"]]
    return sums


def rollups_of_runs(run_ids: Sequence[int]) -> RollupSums:
    """Read, before the runs are deleted, what they count for in the rollups."""
    ids = list(run_ids)
    return _summed(Run.objects.filter(pk__in=ids), ScenarioResult.objects.filter(run_id__in=ids))


def rollups_recount(project_id: int) -> None:
    """Count a project's rollups again from the runs it stores (after rows were written around
    ingest, e.g. by a bulk load or a restore)."""
    sums = _summed(
        Run.objects.filter(project_id=project_id),
        ScenarioResult.objects.filter(project_id=project_id),
    )
    SuiteDay.objects.filter(project_id=project_id).delete()
    ScenarioDay.objects.filter(project_id=project_id).delete()
    rollups_add(project_id, sums)
