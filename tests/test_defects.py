"""Failures become defects: grouping, suggestions, routing, regressions, shared causes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from defects.actions import defect_resolve
from defects.escalation import defects_escalate_unclassified
from defects.grouping import defects_record_run
from defects.models import Defect, DefectEvent, Notification, SharedCause, TriageSettings
from defects.routing import rules_import_codeowners
from tests.builders import (
    a_failure,
    a_project,
    a_report,
    a_rule,
    a_scenario,
    a_team,
    a_triaged_run,
    a_user,
    later,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return a_project()[0]


def defect(project, fingerprint: str) -> Defect:
    return Defect.objects.get(project=project, fingerprint=fingerprint)


def test_failures_group_by_scenario_and_invariant_and_count_occurrences(project):
    report = a_report("run-1", [
        a_scenario("BID-001", "failed", failures=[a_failure(), a_failure(invariantId="NOTIF-2")]),
        a_scenario("UI-009", "error", failures=[{"message": "Timeout"}]),
        a_scenario("API-001", "failed", failures=[]),
        a_scenario("SCH-001", "passed"),
    ])  # fmt: skip
    run = a_triaged_run(project, report)
    a_triaged_run(project, a_report("run-2", [a_scenario("BID-001", "failed")],
                                    startedAt=later(), finishedAt=later(minutes=9)))  # fmt: skip

    assert set(Defect.objects.values_list("fingerprint", flat=True)) == {
        "BID-001|TENANT-004", "BID-001|NOTIF-2", "UI-009|", "API-001|",
    }  # fmt: skip
    leak = defect(project, "BID-001|TENANT-004")
    assert leak.occurrence_count == 2
    assert leak.first_seen == run.started_at
    assert leak.last_run.external_id == "run-2"
    assert leak.state == Defect.State.NEW
    assert defect(project, "UI-009|").is_diagnostics_gap


def test_recording_a_run_twice_changes_nothing(project):
    run = a_triaged_run(project, a_report())
    defects_record_run(run=run)
    assert defect(project, "BID-001|TENANT-004").occurrence_count == 1


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

    harness = defect(project, "UI-009|")
    assert harness.suggested_class == "harness"
    assert "no invariant id" in harness.suggestion_reason
    infra = defect(project, "API-000|")
    assert infra.suggested_class == "infra"
    assert "ECONNREFUSED" in infra.suggestion_reason and "4 of 5" in infra.suggestion_reason
    assert Defect.objects.exclude(defect_class="unclassified").count() == 0


def test_a_flaky_scenario_is_suggested_as_flake(project):
    a_triaged_run(project, a_report("run-1", [a_scenario("ADV-007", "passed")], commit="c1"))
    a_triaged_run(project, a_report("run-2", [a_scenario("ADV-007", "failed")], commit="c1"))
    flaky = defect(project, "ADV-007|TENANT-004")
    assert flaky.suggested_class == "flake"
    assert "c1" in flaky.suggestion_reason


def test_new_defects_are_routed_by_the_first_matching_rule(project):
    ci, harness, bidding = (a_team(project, name) for name in ("ci", "harness", "bidding"))
    a_rule(project, ci, defect_class="infra")
    a_rule(project, harness, file_glob="tests/integration/harness/**")
    a_rule(project, bidding, scenario_prefix="BID", invariant_prefix="TENANT")
    a_rule(project, harness, scenario_prefix="BID")
    a_triaged_run(project, a_report("run-1", [
        a_scenario("BID-001", "failed"),
        a_scenario("BID-002", "failed", failures=[a_failure(invariantId="ASSIGN-1")]),
        a_scenario("HAR-001", "failed", file="tests/integration/harness/reset.test.ts"),
    ]))  # fmt: skip

    routed = defect(project, "BID-001|TENANT-004")
    assert routed.owner_team == bidding
    assert routed.routed_by.position == 3
    assert defect(project, "BID-002|ASSIGN-1").owner_team == harness
    assert defect(project, "HAR-001|TENANT-004").owner_team == harness
    assert DefectEvent.objects.filter(defect=routed, kind="owner", to_value="bidding").exists()


def test_codeowners_import_keeps_its_last_match_wins_meaning(project):
    rules_import_codeowners(project_id=project.pk, text=(
        "# owners\n"
        "/tests/integration/           @acme/qa\n"
        "/tests/integration/harness/   @acme/harness-maintainers\n"
        "*.snap                        @acme/snapshots\n"
    ))  # fmt: skip
    a_triaged_run(project, a_report("run-1", [
        a_scenario("HAR-001", "failed", file="tests/integration/harness/reset.test.ts"),
        a_scenario("BID-001", "failed", file="tests/integration/bidding/BID-001.test.ts"),
        a_scenario("UI-001", "failed", file="tests/ui/__snapshots__/board.snap"),
    ]))  # fmt: skip
    assert defect(project, "HAR-001|TENANT-004").owner_team.name == "harness-maintainers"
    assert defect(project, "BID-001|TENANT-004").owner_team.name == "qa"
    assert defect(project, "UI-001|TENANT-004").owner_team.name == "snapshots"


def test_a_resolved_defect_that_fails_again_is_reopened_and_its_owner_told(project):
    owner = a_user("olga", member_of=project)
    team = a_team(project, "bidding", owner)
    a_rule(project, team, scenario_prefix="BID")
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    leak = defect(project, "BID-001|TENANT-004")
    defect_resolve(defect=leak, version=leak.version, actor=owner, reason="fixed")

    a_triaged_run(project, a_report("run-2", [a_scenario("BID-001", "failed")],
                                    startedAt=later(), finishedAt=later(minutes=9)))  # fmt: skip

    leak.refresh_from_db()
    assert leak.state == Defect.State.REGRESSED
    event = leak.events.get(kind="regression")
    assert (event.from_value, event.to_value) == ("resolved", "regressed")
    mail = Notification.objects.get(defect=leak, channel="email")
    assert "Regressed" in mail.subject and "olga@example.test" in mail.recipients


def test_three_areas_failing_on_one_invariant_kind_are_one_shared_cause(project):
    def failing(scenario_id: str, invariant_id: str) -> dict:
        failure = a_failure(invariantId=invariant_id, message=f"{scenario_id} saw another org")
        return a_scenario(scenario_id, "failed", failures=[failure])

    a_triaged_run(project, a_report("run-1", [
        failing("BID-001", "TENANT-004"), failing("NOS-001", "TENANT-009"),
        failing("API-001", "TENANT-002"), failing("SCH-001", "STATE-001"),
    ]))  # fmt: skip
    cause = SharedCause.objects.get(signature="invariant TENANT-*")
    assert cause.areas == "API, BID, NOS"
    assert sorted(cause.defects.values_list("fingerprint", flat=True)) == [
        "API-001|TENANT-002", "BID-001|TENANT-004", "NOS-001|TENANT-009",
    ]  # fmt: skip
    assert DefectEvent.objects.filter(kind="escalation", text__contains="shared cause").count() == 3
    assert not SharedCause.objects.filter(signature__startswith="invariant STATE").exists()


def test_unclassified_defects_escalate_once_after_the_project_deadline(project):
    TriageSettings.objects.create(project=project, escalate_after_minutes=30)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed"),
                                              a_scenario("BID-002", "failed")]))  # fmt: skip
    first_seen = defect(project, "BID-001|TENANT-004").created_at
    classified = defect(project, "BID-002|TENANT-004")
    Defect.objects.filter(pk=classified.pk).update(defect_class="algorithm")

    assert defects_escalate_unclassified(now=first_seen + timedelta(minutes=29)) == []
    escalated = defects_escalate_unclassified(now=first_seen + timedelta(minutes=31))
    again = defects_escalate_unclassified(now=first_seen + timedelta(minutes=90))

    assert [d.fingerprint for d in escalated] == ["BID-001|TENANT-004"]
    assert again == []
    leak = defect(project, "BID-001|TENANT-004")
    assert leak.escalated_at is not None
    assert leak.events.filter(kind="escalation", text__contains="30 minutes").exists()


def test_escalation_uses_twenty_minutes_by_default(project):
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    first_seen = defect(project, "BID-001|TENANT-004").created_at
    assert defects_escalate_unclassified(now=first_seen + timedelta(minutes=19)) == []
    assert len(defects_escalate_unclassified(now=first_seen + timedelta(minutes=21))) == 1
    assert timezone.now()
