"""One scenario's history: the strip, the flake verdict, the regression window."""

import re

import pytest
from playwright.sync_api import expect

from tests.builders import a_scenario
from tests.conftest import log_in
from tests.runs.run_builders import green, nightly, smoke

pytestmark = pytest.mark.django_db


def test_scenario_page_shows_strip_flake_verdict_and_regression_window(member, project):
    nightly(project, 4, green("BID-001"))
    last_green = nightly(project, 3, green("BID-001"))
    first_red = nightly(project, 2, [a_scenario("BID-001", "failed")])
    nightly(project, 1, [a_scenario("BID-001", "failed")])
    smoke(project, "pr-9", 1, [a_scenario("BID-001", "failed")], commit="feed1")
    smoke(project, "pr-9-again", 0.9, green("BID-001"), commit="feed1")

    html = member.get("/p/dispatch/scenarios/BID-001/").content.decode()

    assert html.count('class="cell status-') == 6
    assert f'href="/p/dispatch/runs/{first_red.pk}/#result-' in html
    assert "Flaky:" in html and "feed1" in html
    assert "c0003..c0002" in html
    assert f"?base={last_green.pk}" in html
    assert "TENANT-004" in html


def test_a_skipped_latest_result_is_not_called_passing(member, project):
    nightly(project, 2, [a_scenario("BID-001", "failed")])
    nightly(project, 1, [a_scenario("BID-001", "skipped")])
    html = member.get("/p/dispatch/scenarios/BID-001/").content.decode()
    assert "Passing on" not in html
    assert "Failing on" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
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


def test_variants_show_side_by_side_so_failing_on_one_browser_is_plain(member, project):
    for day in (3, 2, 1):
        nightly(project, day, [
            a_scenario("UI-009", "passed", variant={"browser": "chromium"}),
            a_scenario("UI-009", "failed", variant={"browser": "webkit"}),
        ])  # fmt: skip

    html = member.get("/p/dispatch/scenarios/UI-009/").content.decode()

    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", html, re.S)
    assert len(rows) == 2
    chromium, webkit = rows
    assert "browser=chromium" in chromium and chromium.count("cell status-passed") == 3
    assert "browser=webkit" in webkit and webkit.count("cell status-failed") == 3
    assert "status-failed" not in chromium
    # Failing on webkit while passing on chromium on one commit is no flake.
    assert "Never passed and failed on one commit." in html


def test_a_variant_failing_in_the_newest_run_is_what_the_page_leads_with(member, project):
    for day in (2, 1):
        nightly(project, day, [
            a_scenario("UI-009", "failed", variant={"browser": "chromium"}),
            a_scenario("UI-009", "passed", variant={"browser": "webkit"}),
        ])  # fmt: skip

    html = member.get("/p/dispatch/scenarios/UI-009/").content.decode()

    assert "failed on main" in html and "Passing on" not in html
    assert "browser=chromium" in html.split("Since when")[1].split("</section>")[0]


def test_the_scenario_page_names_the_test_as_the_latest_report_does(member, project):
    nightly(project, 3, [a_scenario("BID-001", title="bid opens", file="tests/old/bids.ts")])
    nightly(project, 2, [a_scenario("BID-001", title="a bid window opens", file="tests/bids.ts")])
    # A runner that reports neither title nor file does not blank what is known.
    nightly(project, 1, [a_scenario("BID-001", title="", file="")])

    html = member.get("/p/dispatch/scenarios/BID-001/").content.decode()

    assert "<p>a bid window opens</p>" in html
    assert "tests/bids.ts" in html
    assert "bid opens<" not in html and "tests/old/bids.ts" not in html


def test_the_strip_marks_a_run_without_the_variant_and_escapes_run_ids(member, project):
    hostile = 'n-2"><script>alert(1)</script>'
    nightly(project, 2, [
        a_scenario("UI-009", "passed", variant={"browser": "chromium"}),
        a_scenario("UI-009", "failed", variant={"browser": "webkit"}),
    ], id=hostile)  # fmt: skip
    nightly(project, 1, [a_scenario("UI-009", "passed", variant={"browser": "chromium"})])

    html = member.get("/p/dispatch/scenarios/UI-009/").content.decode()

    webkit = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", html, re.S)[1]
    assert "browser=webkit" in webkit
    assert '<span class="cell empty" title="not run in this variant"></span>' in webkit
    assert "<script>" not in html
    assert 'title="n-2&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; · browser=webkit · ' in webkit
    numbers = html.split("<summary>Numbers</summary>")[1].split("</details>")[0]
    assert numbers.count("<tr><td>") == 3  # newest first: night 1, then night 2's two
    assert numbers.index("nightly-1") < numbers.index("n-2&quot;")
