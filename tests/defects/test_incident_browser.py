"""In Chromium: an outage is one incident on the run page and in the list, acknowledged once;
times read in the reader's own zone."""

import pytest
from playwright.sync_api import expect

from defects.models import Defect
from tests.builders import a_triaged_run, a_user, an_outage, two_sharing_a_reason
from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_outage_is_one_card_and_one_row_acknowledged_once(live_server, page, project_and_token):
    project, _ = project_and_token
    a_user("olga", member_of=project)
    run = a_triaged_run(project, an_outage("night-1", failing=40))
    log_in(page, live_server, "olga")

    page.goto(f"{live_server.url}/p/dispatch/runs/{run.pk}/")
    card = page.locator(".card.incident")
    expect(card).to_have_count(1)
    expect(page.locator("article.result")).to_have_count(0)
    card.locator("summary").click()
    expect(card.locator("li")).to_have_count(40)

    page.click("nav >> text=Defects")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.click("text=40 scenarios")
    page.click("button:has-text('Acknowledge')")
    expect(page.get_by_test_id("state")).to_have_text("Acknowledged")
    assert list(Defect.objects.values_list("kind", "state")) == [("incident", "acknowledged")]


def test_times_read_in_the_readers_zone_with_the_zone_named(
    live_server, browser, project_and_token
):
    project, _ = project_and_token
    a_user("olga", member_of=project)
    run = a_triaged_run(project, an_outage("night-1", startedAt="2026-11-20T02:00:00Z",
                                           finishedAt="2026-11-20T02:30:00Z"))  # fmt: skip
    context = browser.new_context(timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    try:
        log_in(page, live_server, "olga")
        page.goto(f"{live_server.url}/p/dispatch/runs/{run.pk}/")
        started = page.locator("dt:has-text('Started') + dd time")
        # 02:00 UTC is 21:00 the evening before in New York (EST, UTC-5).
        expect(started).to_have_text("2026-11-19 21:00 EST")
        assert "2026-11-20T02:00:00Z" in started.get_attribute("title")
    finally:
        context.close()


def test_everything_sharing_a_reason_is_acknowledged_in_one_go(
    live_server, page, project_and_token
):
    from runs.models import FailureReason

    project, _ = project_and_token
    a_user("olga", member_of=project)
    a_triaged_run(project, two_sharing_a_reason())
    reason = FailureReason.objects.get(text="quota check skipped for org-b")
    log_in(page, live_server, "olga")

    page.goto(f"{live_server.url}/p/dispatch/reasons/{reason.pk}/")
    page.click("text=Defects and incidents with this reason")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.check("input[data-select-all]")
    page.select_option("select[name=action]", "acknowledge")
    page.click("button:has-text('Apply')")

    expect(page.locator(".messages")).to_contain_text("2 defect(s) changed")
    states = dict(Defect.objects.values_list("scenario__key", "state"))
    assert states == {"BID-001": "acknowledged", "BID-002": "acknowledged", "SCH-001": "new"}
