"""An owner works a defect in Chromium: queue, acknowledge, classify, route; a regression."""

import re

import pytest
from playwright.sync_api import expect

from defects.actions import defect_resolve
from defects.models import Defect
from tests.builders import a_report, a_rule, a_scenario, a_team, a_triaged_run, a_user, later
from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owned_defect(project_and_token):
    project, _ = project_and_token
    owner = a_user("olga", member_of=project)
    a_rule(project, a_team(project, "bidding", owner), scenario_prefix="BID")
    a_team(project, "harness-maintainers")
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    return Defect.objects.get(), owner


def test_an_owner_acknowledges_classifies_and_routes_from_the_queue(
    live_server, page, owned_defect
):
    log_in(page, live_server, "olga")
    page.click("text=My queue")
    expect(page.locator("table.defects tbody tr")).to_have_count(1)
    page.click("table.defects >> text=BID-001")

    page.click("button:has-text('Acknowledge')")
    expect(page.get_by_test_id("state")).to_have_text("Acknowledged")
    page.select_option("select[name=defect_class]", "algorithm")
    page.click("button:has-text('Classify')")
    expect(page.get_by_test_id("class")).to_have_text("Algorithm regression")
    page.select_option("select[name=team]", label="harness-maintainers")
    page.fill("form:has(select[name=team]) input[name=reason]", "the seed helper is wrong")
    page.click("button:has-text('Route')")

    expect(page.get_by_test_id("owner")).to_contain_text("harness-maintainers")
    expect(page.locator(".timeline")).to_contain_text("the seed helper is wrong")
    expect(page.locator(".messages")).to_contain_text("Done: route")
    defect = Defect.objects.get()
    assert (defect.state, defect.defect_class, defect.owner_team.name) == (
        "acknowledged", "algorithm", "harness-maintainers",
    )  # fmt: skip


def test_a_regression_reopens_a_resolved_defect(live_server, page, owned_defect, project_and_token):
    project, _ = project_and_token
    defect, owner = owned_defect
    defect_resolve(defect=defect, version=defect.version, actor=owner, reason="fixed")
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/p/dispatch/defects/{defect.pk}/")
    expect(page.get_by_test_id("state")).to_have_text("Resolved")

    a_triaged_run(project, a_report("run-2", [a_scenario("BID-001", "failed")],
                                    startedAt=later(), finishedAt=later(minutes=9)))  # fmt: skip
    page.reload()

    expect(page.get_by_test_id("state")).to_have_text("Regressed")
    expect(page.locator(".timeline")).to_contain_text(re.compile(r"resolved → regressed"))
    expect(page.locator(".timeline")).to_contain_text("failed again in run run-2")
