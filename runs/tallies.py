"""Keep the failure tallies: per reason x scenario x variant and per invariant x scenario, how
many failures, first and last seen. Ingest adds, pruning subtracts; pages read the tallies
instead of counting a history that only grows."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max, Min, QuerySet

from runs.models import InvariantFailure, InvariantTally, ReasonTally, Tally
from runs.totals import Totals, totals_add, totals_subtract

REASON_KEY = ["reason_id", "scenario_id", "variant"]
INVARIANT_KEY = ["invariant_id", "scenario_id"]


@dataclass(frozen=True)
class TalliedFailure:
    reason_id: int | None
    invariant_id: int | None
    scenario_id: int
    variant: str
    started_at: datetime


@dataclass
class _Sum:
    count: int
    first: datetime
    last: datetime

    def add(self, when: datetime) -> None:
        self.count += 1
        self.first = min(self.first, when)
        self.last = max(self.last, when)


@dataclass(frozen=True)
class TallySums:
    """Failures summed by tally key: (reason, scenario, variant) and (invariant, scenario)."""

    by_reason: dict[tuple, _Sum]
    by_invariant: dict[tuple, _Sum]


def _summed(keys_and_times: Iterable[tuple[tuple, datetime]]) -> dict[tuple, _Sum]:
    tallies: dict[tuple, _Sum] = {}
    for key, when in keys_and_times:
        if key in tallies:
            tallies[key].add(when)
        else:
            tallies[key] = _Sum(1, when, when)
    return tallies


def _stored_sums(failures: QuerySet[InvariantFailure]) -> TallySums:
    """The same sums, of failures already stored, counted by the database."""
    spans = {"count": Count("id"), "first": Min("started_at"), "last": Max("started_at")}

    def summed(rows: QuerySet[InvariantFailure], *key: str) -> dict[tuple, _Sum]:
        counted = rows.values_list(*key).annotate(**spans).order_by()
        return {tuple(row[: len(key)]): _Sum(*row[len(key) :]) for row in counted}

    return TallySums(
        by_reason=summed(
            failures.exclude(reason=None), "reason_id", "scenario_id", "result__variant"
        ),
        by_invariant=summed(failures.exclude(invariant=None), "invariant_id", "scenario_id"),
    )


def tallies_add(project_id: int, failures: Sequence[TalliedFailure]) -> None:
    """Count newly stored failures into the tallies (inside the ingest's transaction)."""
    _write(
        project_id,
        TallySums(
            by_reason=_summed(
                ((f.reason_id, f.scenario_id, f.variant), f.started_at)
                for f in failures
                if f.reason_id is not None
            ),
            by_invariant=_summed(
                ((f.invariant_id, f.scenario_id), f.started_at)
                for f in failures
                if f.invariant_id is not None
            ),
        ),
    )


def _tally_totals(model: type[Tally], key: list[str]) -> Totals:
    return Totals(
        model,
        key=tuple(key),
        carried=("project_id",),
        counts=("failure_count",),
        earliest=("first_seen",),
        latest=("last_seen",),
    )


REASON_TALLIES = _tally_totals(ReasonTally, REASON_KEY)
INVARIANT_TALLIES = _tally_totals(InvariantTally, INVARIANT_KEY)


def _write(project_id: int, sums: TallySums) -> None:
    # Reasons before invariants, each in key order: every writer locks tally rows so.
    for totals, tallies in (
        (REASON_TALLIES, sums.by_reason),
        (INVARIANT_TALLIES, sums.by_invariant),
    ):
        totals_add(
            totals,
            {
                key: (project_id, tally.count, tally.first, tally.last)
                for key, tally in tallies.items()
            },
        )


def tallies_of_runs(run_ids: Sequence[int]) -> TallySums:
    """Read, before the runs are deleted, what their failures count for in the tallies."""
    return _stored_sums(InvariantFailure.objects.filter(run_id__in=list(run_ids)))


def tallies_subtract(gone: TallySums) -> None:
    """Take deleted failures out of the tallies (last in the deleting transaction); a tally
    that counts nothing any more goes (`totals_subtract`)."""
    totals_subtract(REASON_TALLIES, {key: (tally.count,) for key, tally in gone.by_reason.items()})
    totals_subtract(
        INVARIANT_TALLIES, {key: (tally.count,) for key, tally in gone.by_invariant.items()}
    )


def tallies_recount(project_id: int) -> None:
    """Count a project's tallies again from the failures it stores (after rows were written
    around ingest, e.g. by a bulk load or a restore)."""
    sums = _stored_sums(InvariantFailure.objects.filter(project_id=project_id))
    for model in (ReasonTally, InvariantTally):
        model.objects.filter(project_id=project_id).delete()
    _write(project_id, sums)
