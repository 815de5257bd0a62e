"""Searching a project's failures by scenario id, invariant id or any key entity id value."""

import pytest

from tests.builders import a_failure, a_project, a_report, a_scenario, a_stored_run
from tests.runs.run_builders import nightly

pytestmark = pytest.mark.django_db


def test_search_finds_failures_by_any_key_entity_id_value(member, project):
    nightly(project, 1, [a_scenario("BID-001", "failed", failures=[
        a_failure(keyEntityIds={"orgId": "org-a", "assignmentId": "asg-311"})])])  # fmt: skip
    other, _ = a_project("billing", "Billing")
    a_stored_run(other, a_report("theirs", [a_scenario("PAY-001", "failed", failures=[
        a_failure(keyEntityIds={"assignmentId": "asg-311"})])]))  # fmt: skip

    html = member.get("/p/dispatch/search/?q=asg-311").content.decode()

    assert "BID-001" in html and "assignmentId" in html
    assert "PAY-001" not in html
    assert "TENANT-004" in member.get("/p/dispatch/search/?q=tenant").content.decode()
    assert "BID-001" in member.get("/p/dispatch/search/?q=bid-0").content.decode()
    assert "Nothing matches" in member.get("/p/dispatch/search/?q=asg-3").content.decode()


def test_an_exact_scenario_or_invariant_id_goes_straight_to_its_page(member, project):
    nightly(project, 1, [a_scenario("BID-001", "failed")])

    scenario = member.get("/p/dispatch/search/?q=bid-001")
    invariant = member.get("/p/dispatch/search/?q=TENANT-004")

    assert scenario.status_code == 302 and scenario["Location"] == "/p/dispatch/scenarios/BID-001/"
    assert invariant["Location"] == "/p/dispatch/invariants/TENANT-004/"


def test_an_id_found_only_in_an_evidence_row_finds_its_failure(member, project):
    # drv-b-1 is no key entity id here: it is only in the notifications the suite queried.
    nightly(project, 1, [a_scenario("BID-002", "failed", failures=[a_failure(keyEntityIds={})])])

    html = member.get("/p/dispatch/search/?q=drv-b-1").content.decode()

    assert "BID-002" in html and "notifications for bw-17 · user_id" in html


def test_words_of_a_message_find_its_reason(member, project):
    nightly(project, 1, [
        a_scenario("BID-003", "failed", failures=[a_failure(message="quota ignored for org-b")]),
    ])  # fmt: skip

    html = member.get("/p/dispatch/search/?q=quota ignored").content.decode()

    assert "Failure reasons" in html and "quota ignored for org-b" in html
    assert member.get("/p/dispatch/search/?q=a%00b").status_code == 400
