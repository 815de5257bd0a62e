"""A stored run's list of results is rendered once and then served from the cache, until a
part of the run arrives; a cache that cannot be reached only costs the page its speed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.builders import a_report, a_scenario, a_stored_run
from tests.runs.run_builders import nightly

pytestmark = pytest.mark.django_db


def shard(project, name: str, scenario_ids: list[str]):
    report = a_report("gh-5-1", [a_scenario(s) for s in scenario_ids], part=name, totalParts=2)
    return a_stored_run(project, report)


def results_of(html: str) -> str:
    start = html.index('id="results"')
    return html[start : html.index("</section>", start)]


def test_a_runs_results_list_is_served_again_from_the_cache_until_a_part_arrives(member, project):
    run = shard(project, "shard-1", ["BID-001", "BID-002"])
    page = f"/p/dispatch/runs/{run.pk}/"

    with CaptureQueriesContext(connection) as first:
        first_html = member.get(page).content.decode()
    with CaptureQueriesContext(connection) as again:
        again_html = member.get(page).content.decode()

    assert results_of(again_html) == results_of(first_html)
    assert "BID-002" in results_of(again_html)
    # The page of results is not read again (the counts per area are kept on the run).
    assert len(again) == len(first) - 1

    shard(project, "shard-2", ["NOS-003"])
    after_part = member.get(page).content.decode()
    assert "NOS-003" in after_part and "3 in this run" in after_part


def test_a_run_page_answers_when_the_cache_cannot_be_reached(member, project, settings):
    run = nightly(project, 1, [a_scenario("BID-001", "failed")])
    # Nothing listens on port 9 of this machine: every cache call fails to connect.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }

    response = member.get(f"/p/dispatch/runs/{run.pk}/")

    assert response.status_code == 200
    assert "BID-001" in response.content.decode()
