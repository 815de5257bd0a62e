"""Flake detection: a scenario that failed and passed on the same commit is flaky."""

from collections.abc import Iterable

from django.db.models import Q

from runs.models import FAILING, Run, ScenarioFlake, ScenarioResult, Status


def flakes_record(*, run: Run, outcomes: Iterable[tuple[int, str]]) -> None:
    """Record each scenario of `run` that has both failed and passed on `run.commit`.

    `outcomes` are the run's (scenario id, status) pairs. Compares with the run's own other
    attempts and with every earlier run of the same commit.
    """
    failed_here: set[int] = set()
    passed_here: set[int] = set()
    for scenario_id, status in outcomes:
        if status in FAILING:
            failed_here.add(scenario_id)
        elif status == Status.PASSED:
            passed_here.add(scenario_id)
    found: dict[int, tuple[int, int]] = {
        scenario_id: (run.pk, run.pk) for scenario_id in failed_here & passed_here
    }
    if run.commit and (failed_here or passed_here):
        other_runs = list(
            Run.objects.filter(project_id=run.project_id, commit=run.commit)
            .exclude(pk=run.pk)
            .values_list("pk", flat=True)
        )
        if other_runs:
            earlier = ScenarioResult.objects.filter(run_id__in=other_runs).filter(
                Q(status=Status.PASSED) | Q(status__in=FAILING)
            )
            for scenario_id, status, other_run in earlier.values_list(
                "scenario_id", "status", "run_id"
            ):
                if scenario_id in found:
                    continue
                if status == Status.PASSED and scenario_id in failed_here:
                    found[scenario_id] = (run.pk, other_run)
                elif status in FAILING and scenario_id in passed_here:
                    found[scenario_id] = (other_run, run.pk)
    if not found:
        return
    # A flake already known for this scenario and commit stays as first recorded.
    ScenarioFlake.objects.bulk_create(
        [
            ScenarioFlake(
                project_id=run.project_id,
                scenario_id=scenario_id,
                commit=run.commit,
                failed_run_id=failed_run,
                passed_run_id=passed_run,
                # Visible from the moment the later of the two runs started.
                detected_at=run.started_at,
            )
            for scenario_id, (failed_run, passed_run) in sorted(found.items())
        ],
        ignore_conflicts=True,
    )
