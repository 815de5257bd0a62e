"""The settings section Reading reports: how a project's XML reports are read, set by its admin."""

from pathlib import Path

import pytest

from runs.models import Membership, Project, ScenarioResult
from tests.builders import a_project, a_user

pytestmark = pytest.mark.django_db
JEST_EACH = Path(__file__).parent.parent / "fixtures" / "junit" / "jest-each-same-name.xml"


def test_an_admin_switches_repeated_testcases_to_distinct_tests_for_later_reports(client):
    project, token = a_project()
    client.force_login(a_user("root", member_of=project, role=Membership.Role.ADMIN))
    page = client.get("/p/dispatch/settings/").content.decode()
    assert 'id="reading"' in page and 'for="reading-repeated_testcase"' in page

    saved = client.post("/p/dispatch/settings/reading/", {
        "scenario_id_pattern": "", "invariant_id_pattern": "", "repeated_testcase": "distinct",
    })  # fmt: skip
    client.post(
        "/api/v1/projects/dispatch/runs?runId=ci-1&suite=unit", JEST_EACH.read_bytes(),
        content_type="application/xml", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip

    assert saved.status_code == 302 and saved["Location"].endswith("/settings/#reading")
    keys = ScenarioResult.objects.values_list("scenario__key", flat=True)
    assert sorted(keys) == ["BID-007", "formats the price", "formats the price #2"]


def test_a_pattern_that_is_no_regular_expression_is_refused_and_nothing_changes(client):
    project, _ = a_project()
    client.force_login(a_user("root", member_of=project, role=Membership.Role.ADMIN))

    answer = client.post("/p/dispatch/settings/reading/", {
        "scenario_id_pattern": "([A-Z]+", "invariant_id_pattern": "",
        "repeated_testcase": "distinct",
    }, follow=True)  # fmt: skip

    assert "not a regular expression" in answer.content.decode()
    project.refresh_from_db()
    assert project.scenario_id_pattern == "" and project.repeated_testcase == "retries"


def test_a_triager_cannot_change_how_reports_are_read(client):
    project, _ = a_project()
    client.force_login(a_user("tri", member_of=project, role=Membership.Role.TRIAGER))

    answer = client.post("/p/dispatch/settings/reading/", {"repeated_testcase": "distinct"})

    assert answer.status_code in (403, 404)
    assert Project.objects.get().repeated_testcase == "retries"


def test_a_pattern_that_could_backtrack_for_minutes_or_matches_nothing_is_refused(client):
    project, _ = a_project()
    client.force_login(a_user("root", member_of=project, role=Membership.Role.ADMIN))

    for pattern in (r"(a+)+$", r"([A-Z]\w*)*-\d+", r"(BID)-\1", r"x*"):
        client.post("/p/dispatch/settings/reading/", {
            "scenario_id_pattern": pattern, "invariant_id_pattern": "",
            "repeated_testcase": "retries",
        })  # fmt: skip
        assert Project.objects.get().scenario_id_pattern == "", pattern


def test_a_pattern_with_an_optional_group_reads_reports_instead_of_failing_them(client):
    project, token = a_project()
    client.force_login(a_user("root", member_of=project, role=Membership.Role.ADMIN))
    client.post("/p/dispatch/settings/reading/", {
        "scenario_id_pattern": r"(?:([A-Z]+)-)?(\d{3,})", "invariant_id_pattern": "",
        "repeated_testcase": "retries",
    })  # fmt: skip
    assert Project.objects.get().scenario_id_pattern

    answer = client.post(
        "/api/v1/projects/dispatch/runs?runId=ci-1&suite=unit", JEST_EACH.read_bytes(),
        content_type="application/xml", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip

    assert answer.status_code == 201, answer.content
    assert "BID-007" in ScenarioResult.objects.values_list("scenario__key", flat=True)
