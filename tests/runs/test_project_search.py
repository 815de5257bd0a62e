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
