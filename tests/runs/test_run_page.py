"""The run page: failures with their evidence, the foreign organization marked, the budget,
the repro line; and report text that stays text in Chromium."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.builders import a_failure, a_report, a_scenario, a_user
from tests.conftest import log_in
from tests.runs.run_builders import ingest, nightly

pytestmark = pytest.mark.django_db

XSS = '<script>window.__xss = 1; alert("xss")</script><img src=x onerror="window.__xss=2">'


@pytest.mark.django_db
def test_run_page_shows_failures_with_evidence_and_marks_the_foreign_org(
    member_client, project_and_token
):
    project, _ = project_and_token
    run = ingest(project, a_report())

    response = member_client.get(f"/p/dispatch/runs/{run.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "BID-001",
        "TENANT-004",
        "org-a",
        "bw-17",
        "drv-b-1",
        "notifications for bw-17",
        "logs/nightly/2026-11-20/ci-artifacts/report.json",
        "of 10 min budget",
    ):
        assert text in html, text
    assert 'class="mono foreign-org"' in html
    assert html.count('foreign-org"') == 1
    assert "https://ci.example.test/runs/8812345" in html
    assert "over budget" not in html


def test_any_org_named_column_with_a_foreign_org_is_highlighted(member, project):
    evidence = [{"label": "rows", "rows": [{"recipient_org_id": "org-b", "driverTenantId": "org-a",
                                            "note": "org-b"}]}]  # fmt: skip
    run = nightly(project, 1, [a_scenario("BID-001", "failed",
                                          failures=[a_failure(evidence=evidence)])])  # fmt: skip
    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()
    assert html.count('foreign-org"') == 1


@pytest.mark.django_db
def test_a_run_longer_than_its_suite_budget_is_marked(member_client, project_and_token):
    project, _ = project_and_token
    run = ingest(project, a_report(finishedAt="2026-11-20T02:11:30Z"))

    html = member_client.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert "11m 30s" in html
    assert "over budget" in html


@pytest.mark.django_db
def test_run_page_query_count_does_not_grow_with_failures(member_client, project_and_token):
    project, _ = project_and_token
    ingest(project, a_report("gh-base", startedAt="2026-11-01T00:00:00Z",
                             finishedAt="2026-11-01T00:10:00Z"))  # fmt: skip
    small = ingest(project, a_report("gh-small", scenarios=[a_scenario("BID-001", "failed")]))
    large = ingest(
        project,
        a_report(
            "gh-large",
            scenarios=[
                a_scenario(
                    f"BID-{n:03d}",
                    "failed",
                    failures=[a_failure(), a_failure(invariantId="ASSIGN-1")],
                )
                for n in range(30)
            ],
        ),
    )
    with CaptureQueriesContext(connection) as few:
        member_client.get(f"/p/dispatch/runs/{small.pk}/")
    with CaptureQueriesContext(connection) as many:
        member_client.get(f"/p/dispatch/runs/{large.pk}/")
    assert len(many) == len(few)


def test_repro_line_is_built_from_the_project_template_only_for_safe_ids(member, project):
    project.repro_command = 'pnpm exec vitest --run -t "{scenarioId}"'
    project.save()
    run = nightly(project, 1, [a_scenario("BID-001", "failed"),
                               a_scenario('X-1"; rm -rf ~; "', "failed")])  # fmt: skip

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert "pnpm exec vitest --run -t &quot;BID-001&quot;" in html
    assert html.count('data-copy="') == 1


def test_no_repro_line_for_ids_with_spaces_or_quotes(member, project):
    project.repro_command = "pnpm exec vitest --run -t {scenarioId}"
    project.save()
    run = nightly(project, 1, [a_scenario("BID-001 --config=/tmp/evil.ts", "failed")])
    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()
    assert "data-copy=" not in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_script_in_report_text_is_shown_as_text_in_chromium(live_server, page, project_and_token):
    project, _ = project_and_token
    a_user("dana", member_of=project)
    report = a_report(
        branch=XSS,
        scenarios=[
            a_scenario(
                "BID-001",
                "failed",
                title=XSS,
                failures=[
                    a_failure(
                        message=XSS,
                        organizationUnderTest=XSS,
                        keyEntityIds={XSS: XSS},
                        expected=XSS,
                        artifacts=[XSS],
                        evidence=[{"label": XSS, "rows": [{XSS: XSS, "org_id": XSS}]}],
                    )
                ],
            )
        ],
    )
    run = ingest(project, report)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    log_in(page, live_server, "dana")
    page.goto(f"{live_server.url}/p/dispatch/runs/{run.pk}/")

    assert page.locator("h3", has_text="BID-001").is_visible()
    assert dialogs == []
    assert page.evaluate("window.__xss") is None
    assert page.locator("main script").count() == 0
    assert page.locator("main img").count() == 0
    assert page.get_by_text(XSS).first.is_visible()
    page.goto(f"{live_server.url}/p/dispatch/runs/")
    assert dialogs == []
    assert page.evaluate("window.__xss") is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_person_logs_in_and_reads_the_leak_evidence(live_server, page, project_and_token):
    project, _ = project_and_token
    a_user("dana", member_of=project)
    ingest(project, a_report())

    log_in(page, live_server, "dana")
    page.click("text=Dispatch")
    page.click("text=gh-8812345-1")

    leak = page.locator("td.foreign-org")
    assert leak.count() == 1
    assert leak.inner_text() == "org-b"
    assert page.locator(".leak").inner_text() == "1 cell from another organization"


def test_artifacts_that_are_urls_or_under_the_projects_base_are_links(member, project):
    project.artifact_base_url = "https://ci.example.test/artifacts/"
    project.save()
    run = nightly(project, 1, [a_scenario("BID-001", "failed", failures=[a_failure(artifacts=[
        "https://ci.example.test/runs/7/trace.zip", "logs/run 7/report.json",
        "/home/runner/work/app/db.csv", "javascript:alert(1)",
    ])])])  # fmt: skip

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert '<a href="https://ci.example.test/runs/7/trace.zip"' in html
    assert '<a href="https://ci.example.test/artifacts/logs/run%207/report.json"' in html
    assert '<li class="mono">/home/runner/work/app/db.csv</li>' in html
    assert 'href="javascript' not in html and "javascript:alert(1)" in html


def test_every_report_text_on_a_failure_card_is_escaped(member, project):
    marker = '<b id="x">&amp;"\'</b>'
    escaped = "&lt;b id=&quot;x&quot;&gt;&amp;amp;&quot;&#x27;&lt;/b&gt;"
    failure = a_failure(
        invariantId=None,
        message=marker,
        organizationUnderTest=marker,
        keyEntityIds={marker: marker},
        expected=marker,
        observed=marker,
        artifacts=[marker],
        evidence=[{"label": marker, "rows": [{marker: marker, "org_id": "org-z"}]}],
    )
    scenario = a_scenario("BID-001", "failed", title=marker, file=marker, failures=[failure])
    run = nightly(project, 1, [scenario])

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert marker not in html
    # title, file, message, organization, entity name and value, expected, observed,
    # evidence label, column and cell, the org cell's title, the artifact
    assert html.count(escaped) >= 13
    assert 'title="not &lt;b id=&quot;x&quot;&gt;' in html


def test_a_failures_entity_ids_link_to_a_search_for_each(member, project):
    ids = {"bidWindowId": "bw 17/&x", "count": 1234, "missing": None}
    run = nightly(project, 1, [a_scenario("BID-001", "failed",
                                          failures=[a_failure(keyEntityIds=ids)])])  # fmt: skip

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert '<a href="/p/dispatch/search/?q=bw%2017/%26x">bw 17/&amp;x</a>' in html
    assert '<a href="/p/dispatch/search/?q=1234">1234</a>' in html
    assert '<dt>missing</dt><dd class="mono">null</dd>' in html


def test_evidence_shows_nulls_and_says_how_many_of_its_rows_are_shown(member, project):
    rows = [{"id": f"n-{n}", "org_id": "org-a", "note": None} for n in range(250)]
    failure = a_failure(evidence=[{"label": "", "rows": rows}])
    run = nightly(project, 1, [a_scenario("BID-001", "failed", failures=[failure])])

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert 'Evidence <span class="muted">250 rows, first 200 shown</span>' in html
    assert html.count('<td class="mono null">null</td>') == 200
    assert "n-199" in html and "n-200" not in html


def test_a_retried_failure_without_an_invariant_shows_its_attempt_and_a_diagnostics_gap(
    member, project
):
    failing = a_scenario("BID-001", "failed", attempt=2, failures=[a_failure(invariantId=None)])
    run = nightly(project, 1, [failing, a_scenario("BID-002", "failed", failures=[])])

    html = member.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert "5.1s · attempt 2" in html
    assert '<span class="gap-tag">no invariant id</span>' in html
    assert "this failure does not name the invariant it broke" in html
    assert "this failure reported no invariant failure" in html
