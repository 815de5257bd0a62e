"""A scenario that fails and passes on one commit is recorded as a flake at ingest."""

import pytest

from runs.models import ScenarioFlake
from tests.builders import a_project, a_report, a_scenario, a_stored_run

pytestmark = pytest.mark.django_db


def test_failed_then_passed_on_the_same_commit_is_a_flake():
    project, _ = a_project()
    failed = a_stored_run(project, a_report("run-1", [a_scenario("ADV-007", "failed")]))
    passed = a_stored_run(
        project, a_report("run-2", [a_scenario("ADV-007", "passed")], rerunOf="run-1")
    )

    flake = ScenarioFlake.objects.get()
    assert flake.scenario.key == "ADV-007"
    assert flake.commit == "9f1c2e7"
    assert (flake.failed_run, flake.passed_run) == (failed, passed)
    assert passed.rerun_of == failed


def test_passed_then_failed_on_the_same_commit_is_a_flake_too():
    project, _ = a_project()
    a_stored_run(project, a_report("run-1", [a_scenario("ADV-007", "passed")]))
    a_stored_run(project, a_report("run-2", [a_scenario("ADV-007", "error", failures=[])]))
    assert ScenarioFlake.objects.filter(scenario__key="ADV-007").count() == 1


def test_a_retry_inside_one_run_that_passes_is_a_flake():
    project, _ = a_project()
    a_stored_run(
        project,
        a_report(
            "run-1",
            [
                a_scenario("ADV-007", "failed", attempt=1),
                a_scenario("ADV-007", "passed", attempt=2),
            ],
        ),
    )
    assert ScenarioFlake.objects.get().failed_run == ScenarioFlake.objects.get().passed_run


def test_failing_on_one_commit_and_passing_on_the_next_is_no_flake():
    project, _ = a_project()
    a_stored_run(project, a_report("run-1", [a_scenario("BID-001", "failed")], commit="aaa111"))
    a_stored_run(project, a_report("run-2", [a_scenario("BID-001", "passed")], commit="bbb222"))
    a_stored_run(project, a_report("run-3", [a_scenario("BID-002", "passed")], commit="aaa111"))
    assert not ScenarioFlake.objects.exists()


def test_the_same_flake_seen_again_is_recorded_once():
    project, _ = a_project()
    a_stored_run(project, a_report("run-1", [a_scenario("ADV-007", "failed")]))
    a_stored_run(project, a_report("run-2", [a_scenario("ADV-007", "passed")]))
    a_stored_run(project, a_report("run-3", [a_scenario("ADV-007", "passed")]))
    assert ScenarioFlake.objects.count() == 1


def test_a_shard_that_fails_what_an_earlier_shard_of_the_run_passed_is_a_flake():
    # CI ran the same test in two shards of one run: the first part passed it.
    project, _ = a_project()

    def shard(name: str, scenarios: list[dict]):
        return a_stored_run(project, a_report("run-1", scenarios, part=name, totalParts=2))

    run = shard("shard-1", [a_scenario("ADV-007", "passed"), a_scenario("ADV-008", "passed")])
    shard("shard-2", [a_scenario("ADV-007", "failed"), a_scenario("ADV-009", "failed")])

    flake = ScenarioFlake.objects.get()
    assert flake.scenario.key == "ADV-007"
    assert flake.failed_run_id == flake.passed_run_id == run.pk


def test_failing_on_one_browser_while_passing_on_another_is_no_flake():
    project, _ = a_project()
    a_stored_run(
        project,
        a_report("run-1", [a_scenario("ADV-007", "passed")], variant={"browser": "chromium"}),
    )
    a_stored_run(
        project, a_report("run-2", [a_scenario("ADV-007", "failed")], variant={"browser": "webkit"})
    )
    assert not ScenarioFlake.objects.exists()
