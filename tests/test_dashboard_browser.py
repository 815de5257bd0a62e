"""Journeys through the dashboard in Chromium against the live server."""

import re

import pytest
from playwright.sync_api import expect

from tests.builders import a_report, a_scenario, a_stored_run, a_user
from tests.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(project_and_token):
    project, _ = project_and_token
    a_user("dana", member_of=project)
    runs = {}
    for day in (5, 4, 3):
        runs[f"nightly-{day}"] = a_stored_run(
            project,
            a_report(
                f"nightly-{day}",
                [a_scenario("BID-001", "failed" if day == 4 else "passed")],
                suite="full",
                startedAt=f"2026-11-{20 - day:02d}T02:00:00Z",
                finishedAt=f"2026-11-{20 - day:02d}T02:30:00Z",
            ),
        )
    runs["pr-1"] = a_stored_run(
        project,
        a_report(
            "pr-1",
            [a_scenario("BID-001", "passed")],
            suite="smoke",
            branch="feature/x",
            startedAt="2026-11-19T12:00:00Z",
            finishedAt="2026-11-19T12:05:00Z",
        ),
    )
    return project, runs


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


def test_a_new_run_appears_in_the_open_run_list_without_reload(live_server, page, history):
    project, _ = history
    log_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/p/dispatch/runs/")
    expect(page.locator("#run-table tbody tr")).to_have_count(4)

    a_stored_run(project, a_report("pr-2", [a_scenario("BID-001", "failed")], suite="smoke"))

    expect(page.locator("#run-table")).to_contain_text("pr-2", timeout=15_000)


def test_the_scenario_history_strip_leads_to_the_run(live_server, page, history):
    _, runs = history
    log_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/p/dispatch/scenarios/BID-001/")
    cells = page.locator(".strip .cell")
    expect(cells).to_have_count(4)
    expect(page.locator(".strip .cell.status-failed")).to_have_count(1)

    page.locator(".strip .cell.status-failed").click()

    expect(page).to_have_url(re.compile(rf"/p/dispatch/runs/{runs['nightly-4'].pk}/#result-"))
    expect(page.locator("h1")).to_contain_text("nightly-4")
    expect(page.locator("td.foreign-org")).to_have_text("org-b")


def test_overview_window_toggle_swaps_in_place(live_server, page, history):
    log_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/p/dispatch/")
    page.evaluate("window.__same_document = true")

    page.click("text=90 days")

    expect(page).to_have_url(re.compile(r"days=90"))
    expect(page.locator(".toggle a.active")).to_have_text("90 days")
    assert page.evaluate("window.__same_document") is True
