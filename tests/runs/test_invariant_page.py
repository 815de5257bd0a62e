"""One invariant's blast radius: every scenario that violated it."""

import pytest

from tests.builders import a_failure, a_scenario
from tests.runs.run_builders import nightly

pytestmark = pytest.mark.django_db


def test_invariant_page_shows_every_scenario_that_violated_it(member, project):
    nightly(project, 2, [a_scenario("BID-001", "failed"), a_scenario("NOS-004", "failed")])
    other_invariant = [a_failure(invariantId="IDEMP-1")]
    nightly(project, 1, [a_scenario("BID-001", "failed"),
                         a_scenario("API-002", "failed", failures=other_invariant)])  # fmt: skip

    html = member.get("/p/dispatch/invariants/TENANT-004/").content.decode()

    assert "2</strong> scenarios in" in html
    assert "BID, NOS" in html
    assert "API-002" not in html
