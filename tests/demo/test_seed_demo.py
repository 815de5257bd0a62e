"""seed_demo, as an operator runs it, and the demo history it loads."""

import io
import re
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from demo.history import demo_reports
from runs.models import InvariantFailure, Project, Run, ScenarioFlake


@pytest.mark.django_db
def test_seed_demo_loads_a_realistic_history_once():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)

    project = Project.objects.get(slug="acme-dispatch")
    runs = Run.objects.filter(project=project)
    assert runs.filter(suite__name="full").count() == 60
    assert runs.filter(suite__name="smoke").count() >= 180
    assert project.scenarios.count() == 120
    assert set(project.scenarios.values_list("area", flat=True)) == {
        "SCH", "BID", "NOS", "HLT", "API", "UI", "ADV"
    }  # fmt: skip
    leak = InvariantFailure.objects.filter(
        run__project=project, invariant__key="TENANT-004"
    ).first()
    leaked_orgs = {row["org_id"] for row in leak.evidence[0]["rows"]}
    assert leaked_orgs - {leak.organization_under_test} == {"org-b"}
    harness_gap = InvariantFailure.objects.filter(
        run__project=project, invariant__isnull=True, message__startswith="Timeout"
    )
    assert harness_gap.exists(), "a failure with no invariant id beyond the infra outage"
    assert ScenarioFlake.objects.filter(project=project).exists(), "fails and passes on one commit"
    smoke = list(runs.filter(suite__name="smoke", trigger="pull_request").order_by("started_at"))
    assert not smoke[0].over_budget
    assert smoke[-1].over_budget
    assert "Demo login: demo / demo-triage" in out.getvalue()

    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert Run.objects.count() == runs.count()
    assert "0 runs added" in again.getvalue()


def test_the_demo_keeps_its_run_ids_from_one_day_to_the_next():
    today = date(2026, 11, 22)
    ids_today = {report.run.id for report in demo_reports(today)}
    ids_tomorrow = {report.run.id for report in demo_reports(today + timedelta(days=1))}
    dropped = ids_today - ids_tomorrow
    # Only the oldest day leaves the window; every other run keeps its id.
    assert dropped
    assert all("2026-09-23" in run_id for run_id in dropped)


@pytest.mark.django_db
def test_the_demo_asks_a_person_for_one_item_per_cause(client):
    call_command("seed_demo", stdout=io.StringIO())
    client.login(username="demo", password="demo-triage")

    # Five causes: one leak, two flakes, one harness gap, one database outage.
    listed = client.get("/p/acme-dispatch/defects/").content.decode()
    queue = client.get("/queue/").content.decode()

    assert 1 <= len(re.findall(r'name="defect" value="\d+:\d+"', listed)) <= 6
    assert listed.count("Incident") >= 1 and "75 scenarios" in listed
    assert queue.count("<tr") - 1 <= 6
