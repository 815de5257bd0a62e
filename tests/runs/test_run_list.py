"""The run list: newest first, filters, htmx fragments, live updates; also in Chromium."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from playwright.sync_api import expect

from tests.builders import a_report, a_scenario, a_stored_run
from tests.conftest import log_in
from tests.runs.run_builders import green, ingest, nightly, smoke

pytestmark = pytest.mark.django_db


@pytest.mark.django_db
def test_run_list_shows_runs_newest_first_with_counts(member_client, project_and_token):
    project, _ = project_and_token
    ingest(
        project,
        a_report("gh-old", startedAt="2026-11-19T02:00:00Z", finishedAt="2026-11-19T02:05:00Z"),
    )
    ingest(project, a_report("gh-new", scenarios=[a_scenario("BID-001")]))

    response = member_client.get("/p/dispatch/runs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("gh-new") < html.index("gh-old")
    assert "8m 31s" in html
    assert "9f1c2e7" in html


def test_run_list_filters_by_suite_branch_status_dates_and_text(member, project):
    nightly(project, 5, green("BID-001"))
    nightly(project, 1, [a_scenario("BID-001", "failed")])
    smoke(project, "pr-42", 3, green("BID-001"))

    def listed(query: str) -> set[str]:
        html = member.get(f"/p/dispatch/runs/?{query}").content.decode()
        return {name for name in ("nightly-5", "nightly-1", "pr-42") if f">{name}<" in html}

    assert listed("") == {"nightly-5", "nightly-1", "pr-42"}
    assert listed("suite=smoke") == {"pr-42"}
    assert listed("branch=main") == {"nightly-5", "nightly-1"}
    assert listed("status=failed") == {"nightly-1"}
    since = (datetime.now(UTC) - timedelta(days=4)).date()
    assert listed(f"since={since}") == {"nightly-1", "pr-42"}
    assert listed(f"until={since}") == {"nightly-5"}
    assert listed("q=pr-4") == {"pr-42"}
    assert listed("status=exploded") == {"nightly-5", "nightly-1", "pr-42"}


def test_an_end_date_at_the_end_of_time_is_no_error(member, project):
    nightly(project, 1, green("BID-001"))
    response = member.get("/p/dispatch/runs/?until=9999-12-31")
    assert response.status_code == 200
    assert "nightly-1" in response.content.decode()


def test_run_list_answers_htmx_with_the_table_only(member, project):
    nightly(project, 1, green("BID-001"))
    fragment = member.get("/p/dispatch/runs/?suite=full", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="run-table"')
    assert "nightly-1" in fragment
    restore = member.get(
        "/p/dispatch/runs/?suite=full",
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    ).content.decode()
    assert "<html" in restore


@pytest.mark.django_db
def test_run_list_query_count_does_not_grow_with_runs(member_client, project_and_token):
    project, _ = project_and_token
    ingest(project, a_report("gh-1"))
    with CaptureQueriesContext(connection) as few:
        member_client.get("/p/dispatch/runs/")
    for n in range(2, 12):
        ingest(project, a_report(f"gh-{n}"))
    with CaptureQueriesContext(connection) as many:
        member_client.get("/p/dispatch/runs/")
    assert len(many) == len(few)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_filtering_the_run_list_swaps_the_table_updates_the_url_and_back_works(
    live_server, page, history
):
    log_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/p/dispatch/runs/")
    expect(page.locator("#run-table tbody tr")).to_have_count(4)
    page.evaluate("window.__same_document = true")

    page.select_option("#id_suite", "smoke")

    expect(page.locator("#run-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"suite=smoke"))
    assert page.evaluate("window.__same_document") is True, "the page must not reload"
    expect(page.locator("#run-table")).to_contain_text("pr-1")

    page.go_back()

    expect(page).not_to_have_url(re.compile(r"suite="))
    expect(page.locator("#run-table tbody tr")).to_have_count(4)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_run_appears_in_the_open_run_list_without_reload(live_server, page, history):
    project, _ = history
    log_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/p/dispatch/runs/")
    expect(page.locator("#run-table tbody tr")).to_have_count(4)

    a_stored_run(project, a_report("pr-2", [a_scenario("BID-001", "failed")], suite="smoke"))

    expect(page.locator("#run-table")).to_contain_text("pr-2", timeout=15_000)
