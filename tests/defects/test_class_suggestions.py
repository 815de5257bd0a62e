"""Class suggestions from the data, each with its reason, never applied by themselves."""

import pytest

from defects.models import Defect
from tests.builders import a_failure, a_report, a_scenario, a_triaged_run, defect_of

pytestmark = pytest.mark.django_db


def test_classes_are_suggested_with_a_reason_and_never_applied(project):
    a_triaged_run(project, a_report("run-1", [
        a_scenario("UI-009", "error", failures=[{"message": "locator timeout"}]),
        a_scenario("ADV-007", "failed"),
        *[a_scenario(f"SCH-{n:03d}", "passed") for n in range(5)],
    ]))  # fmt: skip
    a_triaged_run(project, a_report("run-2", [a_scenario("ADV-007", "passed")]))
    refused = [{"message": "connect ECONNREFUSED 127.0.0.1:5432"}]
    outage = a_report("run-3", [
        *[a_scenario(f"API-{n:03d}", "error", failures=refused) for n in range(4)],
        a_scenario("SCH-001", "passed"),
    ])  # fmt: skip
    a_triaged_run(project, outage)
    a_triaged_run(project, a_report("run-4", [a_scenario("ADV-007", "failed")]))

    harness = defect_of(project, "UI-009|")
    assert harness.suggested_class == "harness"
    assert "no invariant id" in harness.suggestion_reason
    # Four of five scenarios refused alike: one incident, not four defects.
    infra = Defect.objects.get(kind="incident")
    assert infra.scenario_count == 4 and not Defect.objects.filter(scenario__key="API-000")
    assert infra.suggested_class == "infra"
    assert "ECONNREFUSED" in infra.suggestion_reason and "4 of 5" in infra.suggestion_reason
    assert Defect.objects.exclude(defect_class="unclassified").count() == 0


def test_a_flaky_scenario_is_suggested_as_flake(project):
    a_triaged_run(project, a_report("run-1", [a_scenario("ADV-007", "passed")], commit="c1"))
    a_triaged_run(project, a_report("run-2", [a_scenario("ADV-007", "failed")], commit="c1"))
    flaky = defect_of(project, "ADV-007|TENANT-004")
    assert flaky.suggested_class == "flake"
    assert "c1" in flaky.suggestion_reason


def test_a_flake_found_by_a_later_rerun_updates_the_suggestion(project):
    a_triaged_run(project, a_report("run-1", [a_scenario("ADV-007", "failed")], commit="c1"))
    a_triaged_run(project, a_report("run-2", [a_scenario("ADV-007", "passed")], commit="c1"))
    defect = Defect.objects.get()
    assert defect.suggested_class == "flake"
    assert defect.defect_class == "unclassified"


def test_an_old_flake_does_not_make_a_new_failure_a_flake(project):
    a_triaged_run(project, a_report("run-1", [a_scenario("ADV-007", "failed")], commit="c1"))
    a_triaged_run(project, a_report("run-2", [a_scenario("ADV-007", "passed")], commit="c1"))
    a_triaged_run(project, a_report("run-3", [a_scenario("ADV-007", "failed", failures=[
        a_failure(invariantId="STATE-9")])], commit="c999"))  # fmt: skip
    assert Defect.objects.get(fingerprint="ADV-007|STATE-9").suggested_class == ""
