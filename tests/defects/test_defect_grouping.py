"""Failures become defects: grouped by scenario and invariant, counted once per result,
reopened when they fail again, joined into shared causes; and the sweep that catches up."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction

from defects.actions import defect_resolve
from defects.grouping import defects_record_run
from defects.models import Defect, DefectEvent, Notification, SharedCause
from defects.periodic import sweep_defects
from defects.selectors import defect_view
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
    ago,
    defect_of,
    later,
)
from tests.workers import wait_for

pytestmark = pytest.mark.django_db


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
    leak = defect_of(project, "BID-001|TENANT-004")
    assert leak.occurrence_count == 2
    assert leak.first_seen == run.started_at
    assert leak.last_run.external_id == "run-2"
    assert leak.state == Defect.State.NEW
    assert defect_of(project, "UI-009|").is_diagnostics_gap


def test_one_result_with_two_failures_of_one_invariant_is_one_occurrence(project):
    twice = a_scenario("BID-001", "failed", failures=[a_failure(), a_failure()])
    a_triaged_run(project, a_report("run-1", [twice]))
    assert Defect.objects.get().occurrence_count == 1


def test_recording_a_run_twice_changes_nothing(project):
    run = a_triaged_run(project, a_report())
    defects_record_run(run=run)
    assert defect_of(project, "BID-001|TENANT-004").occurrence_count == 1


def test_ci_seeing_a_defect_again_does_not_refuse_a_persons_change(project):
    person = a_user("bob", member_of=project)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    seen = Defect.objects.get()
    a_triaged_run(project, a_report("run-2", [a_scenario("BID-001", "failed")]))
    resolved = defect_resolve(defect=seen, version=seen.version, actor=person)
    assert resolved.state == "resolved"
    assert resolved.occurrence_count == 2


def test_a_resolved_defect_that_fails_again_is_reopened_and_its_owner_told(project):
    owner = a_user("olga", member_of=project)
    team = a_team(project, "bidding", owner)
    a_rule(project, team, scenario_prefix="BID")
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    leak = defect_of(project, "BID-001|TENANT-004")
    defect_resolve(defect=leak, version=leak.version, actor=owner, reason="fixed")

    a_triaged_run(project, a_report("run-2", [a_scenario("BID-001", "failed")],
                                    startedAt=later(), finishedAt=later(minutes=9)))  # fmt: skip

    leak.refresh_from_db()
    assert leak.state == Defect.State.REGRESSED
    event = leak.events.get(kind="regression")
    assert (event.from_value, event.to_value) == ("resolved", "regressed")
    mail = Notification.objects.get(defect=leak, channel="email")
    assert "1 regressed" in mail.subject and "olga@example.test" in mail.recipients
    assert "BID-001 / TENANT-004 (Regressed)" in mail.body


def test_an_older_run_uploaded_late_does_not_reopen_a_resolved_defect(project):
    person = a_user("bob", member_of=project)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")], **ago(10)))
    defect = Defect.objects.get()
    defect_resolve(defect=defect, version=defect.version, actor=person)
    a_triaged_run(project, a_report("run-0", [a_scenario("BID-001", "failed")], **ago(60)))
    defect.refresh_from_db()
    assert defect.state == "resolved"
    assert defect.first_seen < defect.last_seen


def test_a_late_older_run_moves_first_seen_back_and_leaves_the_last_run_as_it_was(project):
    newer = [a_scenario(f"BID-00{n}", "failed") for n in (1, 2, 3)]
    a_triaged_run(project, a_report("run-new", newer, **ago(10)))
    # BID-002 fails twice in one result: still one occurrence.
    older = [a_scenario("BID-001", "failed"),
             a_scenario("BID-002", "failed", failures=[a_failure(), a_failure()])]  # fmt: skip
    late = a_triaged_run(project, a_report("run-old", older, **ago(60)))

    first, second, third = (defect_of(project, f"BID-00{n}|TENANT-004") for n in (1, 2, 3))
    assert [d.occurrence_count for d in (first, second, third)] == [2, 2, 1]
    assert first.first_seen == second.first_seen == late.started_at
    assert third.first_seen == third.last_seen > late.started_at
    assert first.last_seen == second.last_seen == third.last_seen
    assert {d.last_run.external_id for d in (first, second, third)} == {"run-new"}


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


def test_a_defect_names_the_variants_it_fails_in(project):
    a_triaged_run(project, a_report("gh-1", [
        a_scenario("UI-009", "failed", variant={"browser": "webkit"}),
        a_scenario("UI-009", "passed", variant={"browser": "chromium"}),
    ]))  # fmt: skip

    defect = Defect.objects.get()
    assert defect.occurrence_count == 1
    assert defect_view(defect).variants == ["browser=webkit"]


def test_a_scenario_id_too_long_for_an_event_line_is_still_grouped(project):
    long_id = "LONG-" + "x" * 236
    a_triaged_run(project, a_report("run-1", [
        a_scenario(long_id, "failed"), a_scenario("BID-001", "failed"),
    ]))  # fmt: skip

    assert sorted(Defect.objects.values_list("scenario__key", flat=True)) == ["BID-001", long_id]


def _backend_pid() -> int:
    """This thread's PostgreSQL backend."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waits_on(waiter: int, holder: int) -> bool:
    """Whether backend `waiter` is waiting for a lock `holder` holds."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [holder, waiter])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_defect_another_run_creates_meanwhile_is_counted_once_not_duplicated(project):
    run = a_stored_run(project, a_report("run-1", [a_scenario("BID-001", "failed"),
                                                   a_scenario("BID-002", "failed")]))  # fmt: skip
    created, release, seen = threading.Event(), threading.Event(), {}

    def other_grouping_creates_bid_002() -> None:
        try:
            with transaction.atomic():
                earlier = datetime(2026, 1, 1, tzinfo=UTC)
                Defect.objects.create(project=project, fingerprint="BID-002|TENANT-004",
                                      first_seen=earlier, last_seen=earlier)  # fmt: skip
                seen["other"] = _backend_pid()
                created.set()
                release.wait(30)
        finally:
            connections.close_all()

    def this_grouping() -> None:
        try:
            seen["grouping"] = _backend_pid()
            seen["outcome"] = defects_record_run(run=run)
        except Exception as error:  # reported by the test below
            seen["error"] = error
        finally:
            connections.close_all()

    other = threading.Thread(target=other_grouping_creates_bid_002)
    grouping = threading.Thread(target=this_grouping)
    other.start()
    try:
        assert created.wait(30)
        grouping.start()
        # The grouping does not see the other's defect yet: it meets it only on inserting its
        # own, and waits there for the other to commit.
        waited = wait_for(lambda: _waits_on(seen.get("grouping", 0), seen["other"]), 20)
    finally:
        release.set()
        other.join(30)
        if grouping.ident is not None:  # started
            grouping.join(30)
    assert waited, "the grouping never met the other run's uncommitted defect"
    assert "error" not in seen, seen.get("error")
    outcome = seen["outcome"]
    assert [d.fingerprint for d in outcome.created] == ["BID-001|TENANT-004"]
    assert [d.fingerprint for d in outcome.seen_again] == ["BID-002|TENANT-004"]
    assert Defect.objects.filter(project=project).count() == 2
    assert defect_of(project, "BID-002|TENANT-004").occurrence_count == 1
    assert defect_of(project, "BID-002|TENANT-004").last_run == run
    assert DefectEvent.objects.filter(kind="created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_groupings_of_one_project_take_turns_and_other_projects_go_on(project):
    """Two groupings of one project side by side could deadlock (see the grouping's lock), so
    the second waits for the first to commit, even when their runs share no defect."""
    first = a_stored_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    second = a_stored_run(project, a_report("run-2", [a_scenario("UI-009", "failed")]))
    other_project = a_project(slug="billing", name="Billing")[0]
    elsewhere = a_stored_run(other_project, a_report("run-1", [a_scenario("API-001", "failed")]))
    grouped, release, seen = threading.Event(), threading.Event(), {}

    def in_a_thread(name: str, work) -> threading.Thread:
        def target() -> None:
            try:
                seen[f"{name} backend"] = _backend_pid()
                work()
                seen[name] = "done"
            except Exception as error:  # reported by the test below
                seen[f"{name} error"] = error
            finally:
                connections.close_all()

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    def first_grouping_kept_open() -> None:
        with transaction.atomic():
            defects_record_run(run=first)
            grouped.set()
            # Longer than the test waits below in all: the test, not this, lets go.
            release.wait(90)

    threads = [in_a_thread("first", first_grouping_kept_open)]
    try:
        assert grouped.wait(30), seen
        threads.append(in_a_thread("second", lambda: defects_record_run(run=second)))
        threads.append(in_a_thread("elsewhere", lambda: defects_record_run(run=elsewhere)))
        waited = wait_for(
            lambda: _waits_on(seen.get("second backend", 0), seen["first backend"]), 20
        )
        assert wait_for(lambda: "elsewhere" in seen or "elsewhere error" in seen, 20), seen
        assert "second" not in seen, "the second grouping finished before the first committed"
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert not [thread for thread in threads if thread.is_alive()], seen
    assert waited, "the second grouping of the project did not wait for the first"
    assert not [key for key in seen if key.endswith("error")], seen
    assert defect_of(project, "UI-009|TENANT-004").last_run == second
    assert defect_of(other_project, "API-001|TENANT-004").last_run == elsewhere
