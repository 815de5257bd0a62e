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


def test_a_wide_blast_radius_lists_the_latest_scenarios_and_says_how_many_more(member, project):
    nightly(project, 3, [a_scenario(f"BID-{n:03d}", "failed") for n in range(150)])
    nightly(project, 1, [a_scenario(f"NOS-{n:03d}", "failed") for n in range(51)])
    nightly(project, 2, [a_scenario("API-001", "passed")])

    html = member.get("/p/dispatch/invariants/TENANT-004/").content.decode()

    assert "201</strong> scenarios in" in html
    assert "The 200 that violated it most lately; 1 more before them." in html
    radius = html[html.index("Blast radius") : html.index("Latest failures")]
    # The newest night's 51 first, then 149 of the 150 from the night before.
    assert radius.count('href="/p/dispatch/scenarios/NOS-') == 51
    assert radius.count('href="/p/dispatch/scenarios/BID-') == 149


def test_the_invariant_page_escapes_what_the_suite_wrote_and_links_each_failure(member, project):
    hostile = '<img src=x onerror="alert(1)">'
    run = nightly(
        project,
        1,
        [
            a_scenario(
                "BID-001",
                "failed",
                title=f"bids {hostile}",
                failures=[
                    a_failure(message=f"driver saw {hostile}", organizationUnderTest=hostile)
                ],
            )
        ],
    )
    result = run.results.get()

    html = member.get("/p/dispatch/invariants/TENANT-004/").content.decode()

    assert "<img" not in html
    assert "bids &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert f'href="/p/dispatch/runs/{run.pk}/#result-{result.pk}">nightly-1</a>' in html
    assert html.count('href="/p/dispatch/scenarios/BID-001/"') == 2  # blast radius, failure
