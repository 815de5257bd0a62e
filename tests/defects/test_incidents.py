"""One cause, one thing to triage: an outage failing many scenarios alike is one incident."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from defects.actions import defect_resolve
from defects.grouping import defects_record_run
from defects.models import Defect, DefectOccurrence, Notification, TriageSettings
from defects.selectors import run_triage
from tests.builders import (
    a_failure,
    a_report,
    a_scenario,
    a_stored_run,
    a_triaged_run,
    a_user,
    ago,
    an_outage,
    later,
)

pytestmark = pytest.mark.django_db


def test_many_scenarios_failing_with_one_reason_are_one_incident(project):
    run = a_triaged_run(project, an_outage("night-1", failing=6))

    incident = Defect.objects.get()
    assert incident.kind == "incident" and incident.scenario is None
    assert incident.scenario_count == 6 and incident.occurrence_count == 6
    assert incident.reason.text == ("connect ECONNREFUSED <address> (database service not healthy)")
    assert incident.suggested_class == "infra"
    assert len(run_triage(run).incidents[0].results) == 6


def test_the_same_outage_the_next_night_is_the_same_incident_seen_again(project):
    a_triaged_run(project, an_outage("night-1", **ago(60 * 24)))
    # Another address, and only two scenarios: still the open incident's reason.
    a_triaged_run(project, an_outage("night-2", address="10.0.4.7:5433", failing=2, **ago(5)))

    incident = Defect.objects.get()
    assert incident.occurrence_count == 8 and incident.scenario_count == 6
    assert incident.last_run.external_id == "night-2"


def test_a_scenario_of_an_incident_failing_later_for_another_reason_gets_its_own_defect(
    project,
):
    a_triaged_run(project, an_outage("night-1", **ago(60)))
    a_triaged_run(project, a_report("night-2", [
        a_scenario("API-001", "failed", failures=[a_failure(message="quota ignored for org-b")]),
    ]))  # fmt: skip

    kinds = sorted(Defect.objects.values_list("kind", "fingerprint"))
    assert kinds[0] == ("defect", "API-001|TENANT-004")
    assert kinds[1][0] == "incident"


def test_a_few_scenarios_failing_alike_in_a_big_run_stay_defects(project):
    a_triaged_run(project, an_outage("night-1", failing=2, passing=20))

    assert list(Defect.objects.values_list("kind", flat=True)) == ["defect", "defect"]


def test_a_share_of_the_scenarios_a_run_ran_failing_alike_is_one_incident(project):
    # Three of twenty scenarios (15 %) stay below the default share of 20 %; three of fifteen
    # reach it, though their run holds 27 results (retries) and the project 23 scenarios.
    timed_out = [a_failure(message="timed out after 30000 ms waiting for the queue")]
    a_triaged_run(project, a_report("night-1", [
        *[a_scenario(f"BID-{n:03d}", "failed", failures=timed_out) for n in range(3)],
        *[a_scenario(f"SCH-{n:03d}", "passed") for n in range(17)],
    ]))  # fmt: skip
    retried = [
        a_scenario(f"SCH-{n:03d}", "passed", attempt=attempt)
        for n in range(12)
        for attempt in (1, 2)
    ]
    outage = an_outage("night-2", failing=3, passing=0)
    a_triaged_run(project, {**outage, "scenarios": [*outage["scenarios"], *retried]})

    night_1, night_2 = (
        sorted(Defect.objects.filter(last_run__external_id=night).values_list("kind", flat=True))
        for night in ("night-1", "night-2")
    )
    assert (night_1, night_2) == (["defect", "defect", "defect"], ["incident"])


def test_the_thresholds_are_the_projects_own(project):
    TriageSettings.objects.create(
        project=project, incident_min_scenarios=10, incident_min_percent=90
    )
    a_triaged_run(project, an_outage("night-1", failing=6, passing=3))

    assert Defect.objects.filter(kind="incident").count() == 0
    assert Defect.objects.count() == 6


def test_a_resolved_incident_coming_back_reopens_and_sends_one_message_per_channel(project):
    TriageSettings.objects.create(project=project, notify_emails="oncall@example.test")
    person = a_user("pat", member_of=project)
    a_triaged_run(project, an_outage("night-1", **ago(60)))
    incident = Defect.objects.get()
    defect_resolve(defect=incident, version=incident.version, actor=person, reason="db back")
    Notification.objects.all().delete()

    a_triaged_run(project, an_outage("night-2", failing=30, startedAt=later(),
                                     finishedAt=later(minutes=9)))  # fmt: skip

    incident.refresh_from_db()
    assert incident.state == "regressed" and incident.scenario_count == 30
    [mail] = Notification.objects.all()
    assert mail.channel == "email" and mail.recipients == "oncall@example.test"
    assert "1 regressed" in mail.subject and "30 scenarios" in mail.body


def test_a_run_with_many_regressions_is_one_digest_capped_with_how_many_more(project):
    TriageSettings.objects.create(project=project, notify_emails="oncall@example.test")
    person = a_user("pat", member_of=project)
    scenarios = [
        a_scenario(f"BID-{n:03d}", "failed", failures=[a_failure(message=f"bug {chr(65 + n)}")])
        for n in range(25)
    ]
    a_triaged_run(project, a_report("night-1", scenarios, **ago(60)))
    for defect in Defect.objects.all():
        defect_resolve(defect=defect, version=defect.version, actor=person, reason="fixed")
    Notification.objects.all().delete()

    a_triaged_run(project, a_report("night-2", scenarios, startedAt=later(),
                                    finishedAt=later(minutes=9)))  # fmt: skip

    [mail] = Notification.objects.all()
    assert "25 regressed" in mail.subject
    assert mail.body.count("\n- ") + mail.body.startswith("- ") == 20
    assert mail.body.endswith("… and 5 more")
    assert DefectOccurrence.objects.filter(run__external_id="night-2").count() == 25


def test_the_next_night_of_a_known_outage_is_grouped_in_a_fixed_number_of_queries(project):
    a_triaged_run(project, an_outage("night-1", failing=20, **ago(60)))
    counted = []
    for night, failing in (("night-2", 20), ("night-3", 200)):
        run = a_stored_run(project, an_outage(night, failing=failing, passing=50, **ago(5)))
        with CaptureQueriesContext(connection) as queries:
            defects_record_run(run=run)
        counted.append(len(queries))

    # However many scenarios fail, with nothing to create and no share to count: the
    # project's lock; the run, locked, with whether it was grouped; its mark; its commit's
    # flakes; its failing results and their failures; the settings; the reasons; the defects,
    # locked; the occurrences; the incident's scenarios and their count; the defects' counts;
    # and the savepoint around them.
    assert counted == [15, 15]
    assert Defect.objects.get().occurrence_count == 240
