"""An incident on the pages: one card on the run page, one row in the list, acted on once;
a reason page; a list narrowed to one reason for acting on all of it at once."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from defects.models import Defect, Team
from runs.models import FailureReason
from tests.builders import (
    a_failure,
    a_report,
    a_scenario,
    a_triaged_run,
    a_user,
    an_outage,
    two_sharing_a_reason,
)

pytestmark = pytest.mark.django_db


def test_the_run_page_shows_an_outage_as_one_card_and_each_defect_with_its_state(triager, project):
    report = an_outage("night-1", failing=40)
    report["scenarios"].append(a_scenario("BID-001", "failed"))
    run = a_triaged_run(project, report)

    html = triager.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert html.count('class="card incident"') == 1
    assert "40 failing results with one reason" in html
    # The 40 results of the incident are inside its card, not 40 cards of their own.
    assert html.count('class="result card"') == 1
    defect = Defect.objects.get(kind="defect")
    assert f'href="/p/dispatch/defects/{defect.pk}/"' in html and "state-new" in html


def test_the_incident_card_lists_each_scenario_it_covers_in_key_order(triager, project):
    report = an_outage("night-1", failing=3)
    # Reported out of order, and one of them on its second attempt.
    report["scenarios"].reverse()
    report["scenarios"][-1]["attempt"] = 2
    report["scenarios"][-2]["variant"] = {"browser": "<b>webkit</b>"}
    run = a_triaged_run(project, report)

    html = triager.get(f"/p/dispatch/runs/{run.pk}/").content.decode()
    card = html[
        html.index('class="card incident"') : html.index(
            "</section>", html.index('class="card incident"')
        )
    ]

    listed = re.findall(r'href="/p/dispatch/scenarios/(API-\d+)/">(API-\d+)</a>', card)
    assert listed == [("API-000", "API-000"), ("API-001", "API-001"), ("API-002", "API-002")]
    assert card.count('class="status status-error">error</span>') == 3
    assert card.count("attempt 2") == 1
    assert "browser=&lt;b&gt;webkit&lt;/b&gt;" in card and "<b>" not in card


def test_the_run_page_asks_no_more_queries_for_many_defects_than_for_few(triager, project):
    def page(run_id: str, defects: int) -> tuple[int, str]:
        report = an_outage(run_id, failing=6)
        report["scenarios"] += [a_scenario(f"BID-{n:03d}", "failed") for n in range(defects)]
        run = a_triaged_run(project, report)
        # Owned and assigned, as triaged defects are: each line names its team and assignee.
        Defect.objects.update(owner_team=team, assignee=person)
        with CaptureQueriesContext(connection) as queries:
            html = triager.get(f"/p/dispatch/runs/{run.pk}/").content.decode()
        return len(queries), html

    team = Team.objects.create(project=project, name="bidding")
    person = a_user("omar", member_of=project)

    (few, _), (many, html) = page("night-1", 2), page("night-2", 12)

    assert html.count('class="triage-line"') == 12 and html.count('class="card incident"') == 1
    assert html.count("bidding · omar") == 12
    assert many == few


def test_the_defect_list_shows_one_row_for_an_outage(triager, project):
    a_triaged_run(project, an_outage("night-1", failing=40))

    html = triager.get("/p/dispatch/defects/").content.decode()

    assert len(re.findall(r'name="defect" value="\d+:\d+"', html)) == 1
    assert "Incident" in html and "40 scenarios" in html


def test_a_reason_page_says_where_and_since_when_it_struck(triager, project):
    a_triaged_run(project, an_outage("night-1", failing=6))
    reason = FailureReason.objects.get()

    html = triager.get(f"/p/dispatch/reasons/{reason.pk}/").content.decode()

    assert "connect ECONNREFUSED &lt;address&gt; (database service not healthy)" in html
    assert "<strong>6</strong> failures in" in html and "<strong>6</strong> scenarios" in html
    assert html.count('href="/p/dispatch/scenarios/API-') >= 6
    assert f"?failure_reason={reason.pk}" in html


def test_everything_sharing_a_reason_is_listed_together_and_acknowledged_at_once(triager, project):
    a_triaged_run(project, two_sharing_a_reason())
    reason = FailureReason.objects.get(text="quota check skipped for org-b")

    html = triager.get(f"/p/dispatch/defects/?failure_reason={reason.pk}").content.decode()
    tokens = re.findall(r'name="defect" value="(\d+:\d+)"', html)
    assert len(tokens) == 2 and "quota check skipped for org-b" in html

    triager.post("/p/dispatch/defects/bulk/", {"action": "acknowledge", "defect": tokens})

    states = dict(Defect.objects.values_list("scenario__key", "state"))
    assert states == {"BID-001": "acknowledged", "BID-002": "acknowledged", "SCH-001": "new"}


def test_a_result_that_also_failed_for_another_reason_keeps_its_card(triager, project):
    report = an_outage("night-1", failing=8)
    other = a_failure(message="quota ignored for org-b")
    first = report["scenarios"][0]
    first["failures"] = [*first["failures"], other]
    run = a_triaged_run(project, report)

    html = triager.get(f"/p/dispatch/runs/{run.pk}/").content.decode()

    assert html.count('class="card incident"') == 1
    # API-000 is in the incident and has a defect of its own: its card stays, with both.
    assert html.count('class="result card"') == 1 and "quota ignored for org-b" in html


def test_the_defect_list_names_the_variants_a_defect_fails_in(triager, project):
    a_triaged_run(project, a_report("run-1", [
        a_scenario("UI-009", "failed", variant={"browser": "webkit"}),
        a_scenario("UI-009", "passed", variant={"browser": "chromium"}),
    ]))  # fmt: skip

    html = triager.get("/p/dispatch/defects/").content.decode()

    assert 'fails in <span class="variant">browser=webkit</span>' in html
    assert "browser=chromium" not in html
