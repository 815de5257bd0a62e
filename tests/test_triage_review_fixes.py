"""Behaviours found wanting in review, kept fixed."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from defects.actions import ActionRefused, defect_mute, defect_resolve
from defects.escalation import defects_escalate_unclassified
from defects.models import Defect, Notification, RoutingRule
from defects.notifications import notification_queue
from defects.periodic import sweep_defects
from defects.routing import rules_import_codeowners
from operations.outbound import OutboundRefused, check_destination
from runs.models import Membership
from tests.builders import (
    a_failure,
    a_project,
    a_report,
    a_rule,
    a_scenario,
    a_stored_run,
    a_team,
    a_triaged_run,
    a_user,
)

pytestmark = pytest.mark.django_db


def ago(minutes: float) -> dict[str, str]:
    start = datetime.now(UTC) - timedelta(minutes=minutes)
    return {
        "startedAt": start.isoformat(),
        "finishedAt": (start + timedelta(minutes=1)).isoformat(),
    }


@pytest.fixture
def project():
    return a_project()[0]


def test_a_late_reported_nightly_still_gets_its_twenty_minutes(project):
    a_triaged_run(project, a_report("nightly", [a_scenario("BID-001", "failed")], **ago(35)))
    assert defects_escalate_unclassified(now=datetime.now(UTC) + timedelta(minutes=1)) == []
    later = datetime.now(UTC) + timedelta(minutes=21)
    assert len(defects_escalate_unclassified(now=later)) == 1


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


def test_routing_uses_the_real_class_so_a_catch_all_unclassified_rule_matches(project):
    rota = a_team(project, "rota")
    a_rule(project, a_team(project, "ci"), defect_class="infra")
    a_rule(project, rota, defect_class="unclassified")
    refused = [{"message": "connect ECONNREFUSED 127.0.0.1:5432"}]
    a_triaged_run(project, a_report("run-1", [a_scenario(f"API-00{n}", "error", failures=refused)
                                              for n in range(4)]))  # fmt: skip
    defect = Defect.objects.get(fingerprint="API-000|")
    assert defect.suggested_class == "infra"
    assert defect.owner_team == rota


def test_one_result_with_two_failures_of_one_invariant_is_one_occurrence(project):
    twice = a_scenario("BID-001", "failed", failures=[a_failure(), a_failure()])
    a_triaged_run(project, a_report("run-1", [twice]))
    assert Defect.objects.get().occurrence_count == 1


def test_ci_seeing_a_defect_again_does_not_refuse_a_persons_change(project):
    person = a_user("bob", member_of=project)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    seen = Defect.objects.get()
    a_triaged_run(project, a_report("run-2", [a_scenario("BID-001", "failed")]))
    resolved = defect_resolve(defect=seen, version=seen.version, actor=person)
    assert resolved.state == "resolved"
    assert resolved.occurrence_count == 2


def test_an_older_run_uploaded_late_does_not_reopen_a_resolved_defect(project):
    person = a_user("bob", member_of=project)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")], **ago(10)))
    defect = Defect.objects.get()
    defect_resolve(defect=defect, version=defect.version, actor=person)
    a_triaged_run(project, a_report("run-0", [a_scenario("BID-001", "failed")], **ago(60)))
    defect.refresh_from_db()
    assert defect.state == "resolved"
    assert defect.first_seen < defect.last_seen


def test_a_resolved_defect_cannot_be_muted(project):
    person = a_user("bob", member_of=project)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    defect = defect_resolve(defect=Defect.objects.get(), version=1, actor=person)
    with pytest.raises(ActionRefused):
        defect_mute(defect=defect, version=defect.version, actor=person, reason="x",
                    until=datetime.now(UTC) + timedelta(days=1))  # fmt: skip


def test_codeowners_stars_stay_in_one_folder_and_ownerless_lines_unown(project):
    rules_import_codeowners(project_id=project.pk, text=(
        "*           @acme/default\n"
        "docs/*      @acme/docs\n"
        "/tests/integration/harness/vendored/\n"
    ))  # fmt: skip
    a_triaged_run(project, a_report("run-1", [
        a_scenario("DOC-001", "failed", file="docs/deep/x.md"),
        a_scenario("DOC-002", "failed", file="docs/x.md"),
        a_scenario("HAR-001", "failed", file="tests/integration/harness/vendored/a.ts"),
    ]))  # fmt: skip
    owners = dict(Defect.objects.values_list("scenario__key", "owner_team__name"))
    assert owners == {"DOC-001": "default", "DOC-002": "docs", "HAR-001": None}


def test_reimporting_codeowners_keeps_defects_routed_by_rules(project):
    text = "/tests/ @acme/qa\n"
    rules_import_codeowners(project_id=project.pk, text=text)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed", file="tests/a.ts")]))
    rules_import_codeowners(project_id=project.pk, text=text)
    defect = Defect.objects.get()
    assert defect.routed_by == RoutingRule.objects.get()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_goes_on_after_a_run_it_cannot_group(project):
    from django.db import connection

    from runs.models import Run

    a_stored_run(project, a_report("run-1", [a_scenario("BID-001", "failed")], **ago(30)))
    a_stored_run(project, a_report("run-2", [a_scenario("BID-002", "failed")], **ago(20)))
    Run.objects.update(received_at=datetime.now(UTC) - timedelta(minutes=30))
    # A real failure while grouping run-1: the database refuses its defect.
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE triage_defect ADD CONSTRAINT test_refuse_bid_001 "
            "CHECK (fingerprint NOT LIKE 'BID-001|%%')"
        )
    try:
        sweep_defects()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE triage_defect DROP CONSTRAINT test_refuse_bid_001")
    assert Defect.objects.filter(fingerprint="BID-002|TENANT-004").exists()
    assert not Defect.objects.filter(fingerprint__startswith="BID-001").exists()


def test_a_notification_claimed_by_a_dead_worker_is_sent_again(project):
    owner = a_user("olga", member_of=project)
    a_rule(project, a_team(project, "t", owner), scenario_prefix="BID")
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    [row] = notification_queue(defect=Defect.objects.get(), subject="s", body="b")
    Notification.objects.filter(pk=row.pk).update(
        status="sending", claimed_at=datetime.now(UTC) - timedelta(minutes=10)
    )
    sweep_defects()
    assert Notification.objects.get(pk=row.pk).status == "pending"


def test_bulk_actions_do_not_redirect_off_site(client, project):
    client.force_login(a_user("tara", member_of=project))
    response = client.post("/p/dispatch/defects/bulk/",
                           {"action": "acknowledge", "next": "//evil.example/x"})  # fmt: skip
    assert response["Location"] == "/p/dispatch/defects/"


@override_settings(OUTBOUND_ALLOW_PRIVATE_NETWORKS=False)
def test_webhooks_cannot_reach_the_servers_own_network():
    for url in ("http://127.0.0.1:6379/", "http://169.254.169.254/latest", "http://10.0.0.8/",
                "file:///etc/passwd"):  # fmt: skip
        with pytest.raises(OutboundRefused):
            check_destination(url)


def test_a_mistyped_gate_filter_is_a_400(client):
    _, token = a_project("gate", "Gate")
    for query in ("class=infar", "owner=nobody-by-that-name"):
        response = client.get(f"/api/v1/projects/gate/defects?{query}",
                              HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
        assert response.status_code == 400, query


@pytest.mark.parametrize(
    ("role", "url", "method", "allowed"),
    [
        ("triager", "/p/dispatch/settings/", "get", False),
        ("viewer", "/p/dispatch/defects/bulk/", "post", False),
        ("viewer", "/p/dispatch/defects/{defect}/github/", "post", False),
        ("viewer", "/p/dispatch/runs/{run}/rerun/", "post", False),
        ("triager", "/p/dispatch/defects/{defect}/", "get", True),
        ("admin", "/p/dispatch/settings/", "get", True),
    ],
)
def test_roles_decide_who_reads_acts_and_configures(client, project, role, url, method, allowed):
    run = a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    client.force_login(a_user("someone", member_of=project, role=Membership.Role(role)))
    target = url.format(defect=Defect.objects.get().pk, run=run.pk)
    response = getattr(client, method)(target, {"action": "acknowledge", "failed": "1"})
    assert (response.status_code in (200, 302)) is allowed, response.status_code
    assert (response.status_code == 403) is (not allowed)
