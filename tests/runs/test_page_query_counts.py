"""Every history page answers in a number of queries that does not grow with the history."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.builders import a_scenario
from tests.runs.run_builders import nightly

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    ["/", "/p/dispatch/", "/p/dispatch/runs/", "/p/dispatch/runs/{run}/",
     "/p/dispatch/runs/{run}/compare/", "/p/dispatch/scenarios/BID-001/",
     "/p/dispatch/invariants/TENANT-004/", "/p/dispatch/search/?q=bw-17"],
)  # fmt: skip
def test_page_queries_do_not_grow_with_runs_or_failures(member, project, path):
    nightly(project, 30, [a_scenario("BID-001", "failed")])
    run = nightly(project, 29, [a_scenario("BID-001", "failed")])
    url = path.format(run=run.pk)
    # Both views first views: parts of a page kept from the first are not counted, and each
    # reads its session from the database.
    cache.clear()
    with CaptureQueriesContext(connection) as few:
        assert member.get(url).status_code == 200
    for day in range(1, 15):
        nightly(project, day, [a_scenario(f"BID-{n:03d}", "failed") for n in range(1, 6)])
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        member.get(url)
    assert len(many) == len(few) <= 15
