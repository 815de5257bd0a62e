"""The run page lists every result: status tabs with counts, a filter, sorting by duration,
counts per area, a page at a time, so a 10,000-scenario run stays a page a person can use."""

import re

import pytest

from runs.models import Run
from tests.builders import a_report, a_scenario, a_stored_run
from tests.runs.run_builders import nightly

pytestmark = pytest.mark.django_db


def many(n: int) -> list[dict]:
    scenarios = []
    for i in range(n):
        status = "failed" if i % 50 == 0 else "skipped" if i % 25 == 0 else "passed"
        scenarios.append(a_scenario(f"{'BID' if i % 2 else 'SCH'}-{i:05d}", status, durationMs=i))
    return scenarios


def rows(html: str) -> list[str]:
    table = html.split('id="results"')[1].split("</section>")[0]
    return re.findall(r'href="/p/dispatch/scenarios/([^/]+)/"', table)


def test_every_result_is_listed_a_page_at_a_time_with_tabs_and_area_counts(member, project):
    run = nightly(project, 1, many(1000))

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert len(rows(html)) == 100 and "Page 1 of 10 · 1000 results" in html
    assert re.search(r"Failed <span class=\"count\">20</span>", html)
    assert re.search(r"Skipped <span class=\"count\">20</span>", html)
    assert 'aria-label="BID: 480 passed, 0 failing, 20 skipped"' in html
    assert len(html) < 400_000


def shard(project, run_id: str, name: str, scenarios: list[dict]) -> Run:
    """One of two parts of a run."""
    return a_stored_run(project, a_report(run_id, scenarios, part=name, totalParts=2))


def area_bars(html: str) -> list[str]:
    return re.findall(r'aria-label="([^"]+: \d+ passed, \d+ failing, \d+ skipped)"', html)


def test_area_counts_of_a_run_in_parts_add_up_across_its_parts(member, project):
    shard(
        project,
        "gh-9-1",
        "shard-1",
        [a_scenario("BID-001", "failed"), a_scenario("login page loads", "passed")],
    )
    run = shard(
        project,
        "gh-9-1",
        "shard-2",
        [a_scenario("BID-002", "passed"), a_scenario("BID-001", "passed")],
    )

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert area_bars(html) == [
        "BID: 2 passed, 1 failing, 0 skipped",
        "Other: 1 passed, 0 failing, 0 skipped",
    ]


def test_a_run_whose_area_counts_were_not_kept_shows_the_same_areas(member, project):
    scenarios = [
        *many(200),
        a_scenario("SCH-90001", "error"),
        a_scenario("login page loads", "failed"),
    ]
    kept = nightly(project, 1, scenarios)
    # Stored before the counts were kept, or with a part they do not count.
    stale = nightly(project, 2, scenarios)
    Run.objects.filter(pk=stale.pk).update(area_counts={"SCH": {"passed": 1}})
    unkept = nightly(project, 3, scenarios)
    Run.objects.filter(pk=unkept.pk).update(area_counts=None)

    bars = [
        area_bars(member.get(f"/p/dispatch/runs/{run.pk}/").content.decode())
        for run in (kept, stale, unkept)
    ]

    assert bars[0] == [
        "BID: 96 passed, 0 failing, 4 skipped",
        "Other: 0 passed, 1 failing, 0 skipped",
        "SCH: 96 passed, 5 failing, 0 skipped",
    ]
    assert bars[1] == bars[0] and bars[2] == bars[0]


def test_a_part_added_to_a_run_without_area_counts_leaves_them_to_be_counted(member, project):
    first = shard(project, "gh-10-1", "shard-1", [a_scenario("BID-001", "failed")])
    Run.objects.filter(pk=first.pk).update(area_counts=None)
    run = shard(project, "gh-10-1", "shard-2", [a_scenario("NOS-001", "passed")])

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert Run.objects.get(pk=run.pk).area_counts is None
    assert area_bars(html) == [
        "BID: 0 passed, 1 failing, 0 skipped",
        "NOS: 1 passed, 0 failing, 0 skipped",
    ]


def test_tabs_filter_sort_and_pages_come_as_fragments(member, project):
    run = nightly(project, 1, many(1000))
    url = f"/p/dispatch/runs/{run.pk}/results/"

    failed = member.get(url, {"status": "failed"}, HTTP_HX_REQUEST="true").content.decode()
    filtered = member.get(url, {"q": "SCH-0099"}, HTTP_HX_REQUEST="true").content.decode()
    slowest = member.get(url, {"sort": "slowest"}, HTTP_HX_REQUEST="true").content.decode()
    second = member.get(url, {"page": "2"}, HTTP_HX_REQUEST="true").content.decode()

    assert failed.startswith("\n<section") or "<html" not in failed
    assert len(rows(failed)) == 20 and all(int(key[4:]) % 50 == 0 for key in rows(failed))
    assert rows(filtered) == ["SCH-00990", "SCH-00992", "SCH-00994", "SCH-00996", "SCH-00998"]
    assert rows(slowest)[:3] == ["BID-00999", "SCH-00998", "BID-00997"]
    assert rows(second)[0] == "SCH-00100"


def test_hostile_list_parameters_are_read_safely(member, project):
    run = nightly(project, 1, many(10))
    url = f"/p/dispatch/runs/{run.pk}/results/"

    for query in ({"status": "exploded"}, {"sort": "1;drop"}, {"page": "-1"}, {"q": "a\x00b"},
                  {"page": "9" * 40}):  # fmt: skip
        answer = member.get(url, query, HTTP_HX_REQUEST="true")
        assert answer.status_code == (400 if "\x00" in query.get("q", "") else 200), query
    assert member.get(url, {"status": "failed"}).status_code == 302


def test_each_listed_result_shows_its_attempt_variant_and_title_escaped(member, project):
    run = nightly(
        project,
        1,
        [
            a_scenario("BID-001", "failed", attempt=1, variant={"browser": "webkit"}),
            a_scenario("BID-001", "passed", attempt=2, variant={"browser": "webkit"}),
            a_scenario("SCH-001", "passed", title='<b onmouseover="alert(1)">opens</b>'),
        ],
    )

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()
    table = html.split('id="results"')[1].split("</section>")[0]

    assert '<span class="muted small">attempt 2</span>' in table
    assert table.count('<span class="variant">browser=webkit</span>') == 2
    assert "&lt;b onmouseover=&quot;alert(1)&quot;&gt;opens&lt;/b&gt;" in table
    assert "<b " not in table
