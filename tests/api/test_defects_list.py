"""GET /api/v1/projects/<slug>/defects: a CI release gate's view of open defects."""

import pytest

from defects.models import Defect
from runs.models import Project
from tests.builders import (
    a_failure,
    a_project,
    a_report,
    a_scenario,
    a_team,
    a_triaged_run,
    an_outage,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def project_with_defects():
    project, token = a_project()
    team = a_team(project, "bidding")
    a_triaged_run(project, a_report("run-1", [
        a_scenario("BID-001", "failed"),
        a_scenario("BID-002", "failed", failures=[a_failure(invariantId="IDEMP-001")]),
        a_scenario("SCH-001", "failed", failures=[a_failure(invariantId="TENANT-002")]),
        a_scenario("UI-009", "error", failures=[{"message": "timeout"}]),
    ]))  # fmt: skip
    Defect.objects.filter(fingerprint="SCH-001|TENANT-002").update(state="resolved")
    Defect.objects.filter(fingerprint="BID-001|TENANT-004").update(owner_team=team)
    return project, token


def listed(client, token: str, query: str = "") -> list[tuple[str, str | None]]:
    response = client.get(f"/api/v1/projects/dispatch/defects?{query}",
                          HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert response.status_code == 200, response.content
    return sorted((d["scenarioId"], d["invariantId"]) for d in response.json()["defects"])


def test_a_gate_finds_open_tenant_defects(client, project_with_defects):
    _, token = project_with_defects
    assert listed(client, token, "state=open&invariant=TENANT-*") == [("BID-001", "TENANT-004")]
    assert listed(client, token, "invariant=TENANT-*") == [
        ("BID-001", "TENANT-004"), ("SCH-001", "TENANT-002"),
    ]  # fmt: skip


def test_defects_filter_by_scenario_wildcard_owner_and_class(client, project_with_defects):
    _, token = project_with_defects
    assert listed(client, token, "scenario=bid-*") == [
        ("BID-001", "TENANT-004"), ("BID-002", "IDEMP-001"),
    ]  # fmt: skip
    assert listed(client, token, "owner=bidding") == [("BID-001", "TENANT-004")]
    assert listed(client, token, "class=unclassified&scenario=UI-*") == [("UI-009", None)]
    assert listed(client, token, "scenario=BID-0.1") == []


def test_each_defect_carries_what_a_gate_reports(client, project_with_defects):
    _, token = project_with_defects
    body = client.get("/api/v1/projects/dispatch/defects?scenario=BID-001",
                      HTTP_AUTHORIZATION=f"Bearer {token}").json()  # fmt: skip
    defect = body["defects"][0]
    assert body["count"] == 1
    assert defect["state"] == "new" and defect["class"] == "unclassified"
    assert defect["ownerTeam"] == "bidding" and defect["assignee"] is None
    assert defect["occurrences"] == 1
    assert defect["url"].endswith(f"/p/dispatch/defects/{defect['id']}/")
    assert defect["firstSeen"].startswith("2026-11-20T02:00:00")


def test_the_defects_api_needs_the_project_token(client, project_with_defects):
    assert client.get("/api/v1/projects/dispatch/defects").status_code == 401
    _, other_token = a_project("other", "Other")
    response = client.get("/api/v1/projects/dispatch/defects",
                          HTTP_AUTHORIZATION=f"Bearer {other_token}")  # fmt: skip
    assert response.status_code == 404


def test_an_unknown_state_is_a_clear_400(client, project_with_defects):
    _, token = project_with_defects
    response = client.get("/api/v1/projects/dispatch/defects?state=exploded",
                          HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"] == "unknown state"
    assert response.json()["problems"][0]["field"] == "state"
    assert "exploded" in response.json()["problems"][0]["problem"]


def test_a_mistyped_gate_filter_is_a_400(client):
    _, token = a_project("gate", "Gate")
    for query, error in (("class=infar", "unknown class"),
                         ("owner=nobody-by-that-name", "unknown owner")):  # fmt: skip
        response = client.get(f"/api/v1/projects/gate/defects?{query}",
                              HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
        assert response.status_code == 400, query
        assert response.json()["error"] == error


def test_a_gate_reads_the_filters_the_defect_list_page_offers(client, project_with_defects):
    _, token = project_with_defects
    assert listed(client, token, "owner=none&state=open") == [
        ("BID-002", "IDEMP-001"), ("UI-009", None)
    ]  # fmt: skip
    assert ("SCH-001", "TENANT-002") in listed(client, token, "state=all")
    assert listed(client, token, "state=resolved") == [("SCH-001", "TENANT-002")]


def test_an_incident_is_one_item_saying_how_many_scenarios_it_covers(client, token):
    a_triaged_run(Project.objects.get(slug="dispatch"), an_outage("night-1", failing=7))

    body = client.get("/api/v1/projects/dispatch/defects",
                      HTTP_AUTHORIZATION=f"Bearer {token}").json()  # fmt: skip

    assert body["count"] == 1
    [incident] = body["defects"]
    assert incident["kind"] == "incident" and incident["scenarioCount"] == 7
    assert incident["scenarioId"] is None
    assert incident["reason"].startswith("connect ECONNREFUSED <address>")
