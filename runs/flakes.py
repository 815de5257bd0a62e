"""Flake detection: a test that failed and passed on the same commit is flaky.

A test is a scenario in a variant: failing on webkit while passing on chromium is a
difference between browsers, not a flake."""

from collections.abc import Iterable

from django.db.models import Q

from runs.models import FAILING, Run, ScenarioFlake, ScenarioResult, Status

Test = tuple[int, str]  # (scenario id, variant)


def flakes_record(
    *, run: Run, outcomes: Iterable[tuple[int, str, str]], earlier_parts_below: int = 0
) -> None:
    """Record each test of `run` that has both failed and passed on `run.commit`.

    `outcomes` are the new results' (scenario id, variant, status), already stored at the
    run's positions from `earlier_parts_below` on. They are compared with each other, with the
    results of the run's earlier parts (positions below `earlier_parts_below`) and with every
    earlier run of the same commit.
    """
    failed_here: set[Test] = set()
    passed_here: set[Test] = set()
    for scenario_id, variant, status in outcomes:
        if status in FAILING:
            failed_here.add((scenario_id, variant))
        elif status == Status.PASSED:
            passed_here.add((scenario_id, variant))
    found: dict[Test, tuple[int, int]] = {
        test: (run.pk, run.pk) for test in failed_here & passed_here
    }
    others: Q | None = None
    if earlier_parts_below:
        others = Q(run_id=run.pk, position__lt=earlier_parts_below)
    if run.commit and (failed_here or passed_here):
        other_runs = list(
            Run.objects.filter(project_id=run.project_id, commit=run.commit)
            .exclude(pk=run.pk)
            .values_list("pk", flat=True)
        )
        if other_runs:
            of_commit = Q(run_id__in=other_runs)
            others = of_commit if others is None else others | of_commit
    if others is not None:
        # Only what can make a flake: earlier failures (few), and earlier passes of the
        # scenarios failing now. Reading every earlier result of the commit made each run of a
        # commit built many times (nightlies of a quiet branch, reruns) slower than the last.
        # The scenarios failing now are read where they were just stored (a list of them as
        # parameters could pass what SQLite takes in one statement).
        failing_now = ScenarioResult.objects.filter(
            run_id=run.pk, position__gte=earlier_parts_below, status__in=FAILING
        ).values("scenario_id")
        earlier = ScenarioResult.objects.filter(others).filter(
            Q(status__in=FAILING) | Q(status=Status.PASSED, scenario_id__in=failing_now)
        )
        for scenario_id, variant, status, other_run in earlier.values_list(
            "scenario_id", "variant", "status", "run_id"
        ):
            test = (scenario_id, variant)
            if test in found:
                continue
            if status == Status.PASSED and test in failed_here:
                found[test] = (run.pk, other_run)
            elif status in FAILING and test in passed_here:
                found[test] = (other_run, run.pk)
    if not found:
        return
    # A flake already known for this test and commit stays as first recorded.
    ScenarioFlake.objects.bulk_create(
        [
            ScenarioFlake(
                project_id=run.project_id,
                scenario_id=scenario_id,
                variant=variant,
                commit=run.commit,
                failed_run_id=failed_run,
                passed_run_id=passed_run,
                # Visible from the moment the later of the two runs started.
                detected_at=run.started_at,
            )
            for (scenario_id, variant), (failed_run, passed_run) in sorted(found.items())
        ],
        ignore_conflicts=True,
    )
