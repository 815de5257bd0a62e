"""My queue: the defects of my teams, oldest unacknowledged first."""

import pytest

from defects.models import Defect
from runs.models import Membership
from tests.builders import a_project, a_report, a_rule, a_scenario, a_team, a_triaged_run, a_user

pytestmark = pytest.mark.django_db


def on(day: str) -> dict[str, str]:
    return {"startedAt": f"{day}T00:00:00Z", "finishedAt": f"{day}T00:01:00Z"}


def test_my_queue_lists_my_teams_defects_oldest_unacknowledged_first(client, project):
    me = a_user("mo", member_of=project)
    mine, theirs = a_team(project, "mine", me), a_team(project, "theirs")
    a_rule(project, mine, scenario_prefix="BID")
    a_rule(project, theirs, scenario_prefix="API")
    a_triaged_run(project, a_report("old", [a_scenario("BID-001", "failed")], **on("2026-11-01")))
    a_triaged_run(
        project, a_report("new", [a_scenario("BID-002", "failed"), a_scenario("API-001", "failed")])
    )
    acked = Defect.objects.get(fingerprint="BID-001|TENANT-004")
    Defect.objects.filter(pk=acked.pk).update(state="acknowledged")
    a_triaged_run(project, a_report("older", [a_scenario("BID-003", "failed")], **on("2026-10-01")))
    client.force_login(me)

    html = client.get("/queue/").content.decode()

    assert "API-001" not in html
    assert html.index("BID-003") < html.index("BID-002") < html.index("BID-001")


def test_the_queue_keeps_to_one_project_with_its_navigation_and_filters(client):
    mine, _ = a_project("dispatch", "Dispatch")
    other, _ = a_project("billing", "Billing")
    me = a_user("me", member_of=mine)
    Membership.objects.create(project=other, user=me, role="triager")
    for project, key in ((mine, "BID-001"), (other, "PAY-001")):
        a_rule(project, a_team(project, "t", me), scenario_prefix=key[:3])
        a_triaged_run(project, a_report("run-1", [a_scenario(key, "failed")]))
    client.force_login(me)

    everything = client.get("/queue/").content.decode()
    one = client.get("/queue/?project=dispatch").content.decode()

    assert "BID-001" in everything and "PAY-001" in everything
    assert "BID-001" in one and "PAY-001" not in one
    assert 'class="projectnav"' in one and 'href="/queue/?project=dispatch"' in one
    assert client.get("/queue/?project=nope").status_code == 404
