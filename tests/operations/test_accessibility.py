"""Every page a person reads passes axe-core (WCAG 2.1 AA and best practice) without a serious
or critical violation, in Chromium, at desktop and phone width and in dark mode."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from defects.models import Defect
from runs.models import FailureReason, Membership
from tests.builders import a_report, a_scenario, a_triaged_run, a_user, an_outage
from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RULES = {"runOnly": {"type": "tag", "values": [
    "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice",
]}}  # fmt: skip
GRAVE = ("serious", "critical")


@pytest.fixture
def pages(project_and_token):
    project, _ = project_and_token
    a_user("olga", member_of=project, role=Membership.Role.ADMIN)
    for day in (3, 2):
        when = {"startedAt": f"2026-11-2{day}T02:00:00Z", "finishedAt": f"2026-11-2{day}T02:09:00Z"}
        a_triaged_run(project, a_report(f"night-{day}", [
            a_scenario("BID-001", "failed"), a_scenario("BID-002", "passed"),
            a_scenario("UI-009", "failed", variant={"browser": "webkit"}),
            a_scenario("UI-009", "passed", variant={"browser": "chromium"}),
        ], **when))  # fmt: skip
    outage = a_triaged_run(project, an_outage("night-1", startedAt="2026-11-24T02:00:00Z",
                                              finishedAt="2026-11-24T02:30:00Z"))  # fmt: skip
    defect = Defect.objects.filter(kind="defect").first()
    incident = Defect.objects.get(kind="incident")
    reason = FailureReason.objects.first()
    return [
        "/",
        "/queue/",
        "/p/dispatch/",
        "/p/dispatch/runs/",
        f"/p/dispatch/runs/{outage.pk}/",
        f"/p/dispatch/runs/{outage.pk}/compare/",
        "/p/dispatch/scenarios/UI-009/",
        "/p/dispatch/invariants/TENANT-004/",
        f"/p/dispatch/reasons/{reason.pk}/",
        "/p/dispatch/defects/",
        f"/p/dispatch/defects/{defect.pk}/",
        f"/p/dispatch/defects/{incident.pk}/",
        "/p/dispatch/search/?q=asg",
        "/p/dispatch/settings/",
        "/p/dispatch/runbook/",
        "/api/docs",
    ]


def grave_violations(page) -> list[str]:
    results = Axe().run(page, options=RULES)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in GRAVE:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "light"), (1280, "dark")])
def test_no_page_has_a_serious_or_critical_accessibility_violation(
    live_server, browser, pages, width, scheme
):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        log_in(page, live_server, "olga")
        problems = {}
        for path in pages:
            page.goto(live_server.url + path)
            found = grave_violations(page)
            # Nothing wider than the screen: a page scrolls down, never sideways.
            wide = page.evaluate("document.documentElement.scrollWidth")
            if wide > width:
                found.append(f"the page is {wide} px wide on a {width} px screen")
            if found:
                problems[path] = found
        assert not problems, "\n".join(f"{p}: {v}" for p, vs in problems.items() for v in vs)
    finally:
        context.close()
