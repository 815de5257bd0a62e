"""Hostile text in every field a page shows stays text: checked in Chromium on every page,
the run, defect and settings pages this area composes among them."""

import pytest

from defects.actions import defect_comment
from defects.models import Defect, RunbookLink, Team
from defects.runbook import runbook_publish
from runs.models import Membership
from tests.builders import a_failure, a_project, a_report, a_scenario, a_triaged_run, a_user
from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOADS = [
    "<script>window.__xss=1;alert(1)</script>",
    '<img src=x onerror="window.__xss=2;alert(2)">',
    '"><svg onload="window.__xss=3;alert(3)">',
    "javascript:window.__xss=4",
    "' onmouseover='window.__xss=5' x='",
]
ALL = " ".join(PAYLOADS)


@pytest.fixture
def hostile_project():
    project, _ = a_project("dispatch", ALL[:200])
    admin = a_user("eve", member_of=project, role=Membership.Role.ADMIN)
    team = Team.objects.create(project=project, name=PAYLOADS[1][:100])
    team.members.add(admin)
    evidence = [{"label": ALL, "rows": [{PAYLOADS[0]: PAYLOADS[1], "org_id": PAYLOADS[2]},
                                        {"note": PAYLOADS[3], PAYLOADS[4]: None}]}]  # fmt: skip
    failure = a_failure(
        invariantId="TENANT-004", message=ALL, organizationUnderTest=PAYLOADS[2],
        keyEntityIds={PAYLOADS[0]: PAYLOADS[1], "assignmentId": PAYLOADS[4]},
        expected=ALL, observed={"html": ALL}, artifacts=PAYLOADS, evidence=evidence,
    )  # fmt: skip
    scenario_id = f"BID-001 {PAYLOADS[0]}"
    for run_id, when in (("r1", "2026-11-19"), ("r2", "2026-11-20")):
        a_triaged_run(project, a_report(
            run_id, [a_scenario(scenario_id, "failed", title=ALL, file=ALL, failures=[failure]),
                     a_scenario("UI-009", "error", title=ALL, failures=[{"message": ALL}])],
            branch=PAYLOADS[2], commit="abc1234", trigger=PAYLOADS[0][:60],
            startedAt=f"{when}T02:00:00Z", finishedAt=f"{when}T02:09:00Z",
        ))  # fmt: skip
    defect = Defect.objects.get(fingerprint__startswith="BID-001")
    Defect.objects.filter(pk=defect.pk).update(owner_team=team)
    defect_comment(defect=defect, actor=admin, text=ALL)
    runbook_publish(project=project, author=admin, markdown=(
        f"# Runbook {PAYLOADS[0]}\n\n## Tenant isolation\n\n{ALL}\n\n"
        "[click](javascript:window.__xss=6) <a href=\"javascript:window.__xss=7\">raw</a>\n"
    ))  # fmt: skip
    RunbookLink.objects.create(project=project, kind="invariant", match="TENANT",
                               anchor="tenant-isolation")  # fmt: skip
    return project, defect


def pages(project, defect) -> list[str]:
    from runs.models import FailureReason, Run

    run = Run.objects.get(external_id="r2")
    reasons = FailureReason.objects.filter(project=project).values_list("pk", flat=True)
    key = defect.scenario.key
    from urllib.parse import quote

    return [
        "/", "/queue/", f"/p/{project.slug}/", f"/p/{project.slug}/runs/",
        f"/p/{project.slug}/runs/{run.pk}/", f"/p/{project.slug}/runs/{run.pk}/compare/",
        f"/p/{project.slug}/scenarios/{quote(key)}/", f"/p/{project.slug}/invariants/TENANT-004/",
        f"/p/{project.slug}/search/?q={quote(PAYLOADS[1])}", f"/p/{project.slug}/defects/",
        f"/p/{project.slug}/defects/{defect.pk}/", f"/p/{project.slug}/runbook/",
        f"/p/{project.slug}/settings/",
        *(f"/p/{project.slug}/reasons/{reason}/" for reason in reasons),
    ]  # fmt: skip


def test_no_page_runs_injected_script_or_grows_injected_elements(live_server, page,
                                                                 hostile_project):  # fmt: skip
    project, defect = hostile_project
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server, "eve")
    for path in pages(project, defect):
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        page.mouse.move(200, 300)
        page.mouse.move(600, 500)
        injected = page.evaluate(
            """() => ({
                flag: window.__xss,
                inlineScripts: [...document.querySelectorAll('script:not([src])')].length,
                handlers: [...document.querySelectorAll('main *')].filter(
                    el => [...el.attributes].some(a => a.name.startsWith('on'))).length,
                images: document.querySelectorAll('main img').length,
                svgOnload: document.querySelectorAll('svg[onload]').length,
                jsLinks: [...document.querySelectorAll('a[href]')].filter(a =>
                    a.getAttribute('href').trim().toLowerCase().startsWith('javascript')).length,
            })"""
        )
        assert injected == {"flag": None, "inlineScripts": 0, "handlers": 0, "images": 0,
                            "svgOnload": 0, "jsLinks": 0}, (path, injected)  # fmt: skip
    assert dialogs == []
