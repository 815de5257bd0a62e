"""Chart points are drawn in Python; what a report names in them is text, never markup."""

import pytest

from tests.builders import a_report, a_scenario, a_stored_run

pytestmark = pytest.mark.django_db

HOSTILE_RUN_ID = 'nightly-7"><svg onload="alert(1)">'


def test_chart_point_of_a_run_with_a_hostile_id_shows_the_id_as_text(member, project):
    run = a_stored_run(project, a_report(HOSTILE_RUN_ID, [a_scenario("BID-001", "failed")]))

    html = member.get("/p/dispatch/scenarios/BID-001/").content.decode()

    assert '<svg onload="alert(1)">' not in html
    assert "nightly-7&quot;&gt;&lt;svg onload=&quot;alert(1)&quot;&gt; failed" in html
    assert f'<a href="/p/dispatch/runs/{run.pk}/" aria-label="' in html
    assert '<circle class="dot over"' in html
