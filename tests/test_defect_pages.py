"""Acting on defects through the pages: actions, conflicts, bulk, roles, runbook, export."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from defects.models import Defect, RunbookLink, TriageSettings
from defects.runbook import runbook_publish
from runs.models import Membership
from runs.secrets import secret_encrypt
from tests.builders import a_project, a_report, a_rule, a_scenario, a_team, a_triaged_run, a_user
from tests.ci_standins import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    return a_project()[0]


@pytest.fixture
def leak(project):
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    return Defect.objects.get(fingerprint="BID-001|TENANT-004")


@pytest.fixture
def triager(client, project):
    user = a_user("tara", member_of=project)
    client.force_login(user)
    return client


def on(day: str) -> dict[str, str]:
    return {"startedAt": f"{day}T00:00:00Z", "finishedAt": f"{day}T00:01:00Z"}


def act(client, defect, action: str, version: int | None = None, **fields) -> str:
    data = {"action": action, "version": version or defect.version, **fields}
    url = f"/p/dispatch/defects/{defect.pk}/act/"
    return client.post(url, data, HTTP_HX_REQUEST="true").content.decode()


def test_each_action_changes_the_defect_and_writes_its_timeline(triager, project, leak):
    team = a_team(project, "bidding")
    olga = a_user("olga", member_of=project)

    act(triager, leak, "acknowledge")
    leak.refresh_from_db()
    act(triager, leak, "classify", defect_class="algorithm", reason="reproduces locally")
    leak.refresh_from_db()
    act(triager, leak, "route", team=team.pk, reason="bidding owns fan-out")
    leak.refresh_from_db()
    act(triager, leak, "assign", assignee=olga.pk)
    leak.refresh_from_db()
    act(triager, leak, "comment", text="looking at the notification query")
    html = act(triager, leak, "resolve", reason="org filter added")

    leak.refresh_from_db()
    assert (leak.state, leak.defect_class, leak.owner_team, leak.assignee) == (
        "resolved", "algorithm", team, olga,
    )  # fmt: skip
    timeline = [(e.kind, e.from_value, e.to_value, e.actor_name) for e in leak.events.all()]
    assert ("state", "new", "acknowledged", "tara") in timeline
    assert ("class", "unclassified", "algorithm", "tara") in timeline
    assert ("owner", "", "bidding", "tara") in timeline
    assert ("assignee", "", "olga", "tara") in timeline
    assert ("state", "acknowledged", "resolved", "tara") in timeline
    assert leak.events.get(kind="comment").text == "looking at the notification query"
    assert "reproduces locally" in html and "org filter added" in html


def test_routing_by_hand_needs_a_reason(triager, project, leak):
    team = a_team(project, "bidding")
    html = act(triager, leak, "route", team=team.pk, reason="")
    leak.refresh_from_db()
    assert leak.owner_team is None
    assert "needs a reason" in html


def test_the_second_of_two_concurrent_changes_is_told_who_changed_it(client, project, leak):
    first, second = a_user("ana", member_of=project), a_user("ben", member_of=project)
    seen_version = leak.version
    client.force_login(first)
    act(client, leak, "classify", version=seen_version, defect_class="flake")
    client.force_login(second)

    html = act(client, leak, "classify", version=seen_version, defect_class="algorithm")

    leak.refresh_from_db()
    assert leak.defect_class == "flake"
    assert "changed by ana meanwhile" in html
    assert 'data-testid="class">Flake/concurrency' in html


def test_bulk_actions_apply_to_every_selected_defect(triager, project):
    a_triaged_run(
        project, a_report("run-1", [a_scenario(f"BID-00{n}", "failed") for n in (1, 2, 3)])
    )
    defects = list(Defect.objects.order_by("fingerprint"))
    chosen = [f"{d.pk}:{d.version}" for d in defects[:2]]

    response = triager.post(
        "/p/dispatch/defects/bulk/", {"action": "acknowledge", "defect": chosen}, follow=True
    )

    states = dict(Defect.objects.values_list("fingerprint", "state"))
    assert states == {"BID-001|TENANT-004": "acknowledged", "BID-002|TENANT-004": "acknowledged",
                      "BID-003|TENANT-004": "new"}  # fmt: skip
    assert "2 defect(s) changed" in response.content.decode()


def test_a_viewer_can_read_but_not_act(client, project, leak):
    client.force_login(a_user("vera", member_of=project, role=Membership.Role.VIEWER))
    assert client.get(f"/p/dispatch/defects/{leak.pk}/").status_code == 200
    response = client.post(f"/p/dispatch/defects/{leak.pk}/act/",
                           {"action": "acknowledge", "version": leak.version})  # fmt: skip
    assert response.status_code == 403
    assert client.get("/p/dispatch/settings/").status_code == 403
    leak.refresh_from_db()
    assert leak.state == "new"


def test_my_queue_lists_my_teams_defects_oldest_unacknowledged_first(client, project):
    me = a_user("mo", member_of=project)
    mine, theirs = a_team(project, "mine", me), a_team(project, "theirs")
    a_rule(project, mine, scenario_prefix="BID")
    a_rule(project, theirs, scenario_prefix="API")
    a_triaged_run(project, a_report("old", [a_scenario("BID-001", "failed")], **on("2026-11-01")))
    a_triaged_run(
        project, a_report("new", [a_scenario("BID-002", "failed"), a_scenario("API-001", "failed")])
    )
    acked = Defect.objects.get(fingerprint="BID-001|TENANT-004")
    Defect.objects.filter(pk=acked.pk).update(state="acknowledged")
    a_triaged_run(project, a_report("older", [a_scenario("BID-003", "failed")], **on("2026-10-01")))
    client.force_login(me)

    html = client.get("/queue/").content.decode()

    assert "API-001" not in html
    assert html.index("BID-003") < html.index("BID-002") < html.index("BID-001")


def test_the_runbook_is_sectioned_rendered_safely_and_linked_from_defects(triager, project, leak):
    author = a_user("root", member_of=project, role=Membership.Role.ADMIN)
    runbook_publish(project=project, author=author, markdown=(
        "# Runbook\n\n<script>alert(1)</script>\n\n## Tenant isolation failures\n\n"
        "Check the [org filter](javascript:alert(2)) of every query.\n\n## Other\n\nText.\n"
    ))  # fmt: skip
    RunbookLink.objects.create(project=project, kind="invariant", match="TENANT",
                               anchor="tenant-isolation-failures")  # fmt: skip

    page = triager.get(f"/p/dispatch/defects/{leak.pk}/").content.decode()
    full = triager.get("/p/dispatch/runbook/").content.decode()

    assert "Check the" in page and "Text." not in page
    assert 'href="/p/dispatch/runbook/#tenant-isolation-failures"' in page
    assert 'id="tenant-isolation-failures"' in full
    assert "<script>alert(1)" not in full and "&lt;script&gt;" in full
    assert 'href="javascript:' not in full


def test_copy_as_defect_follows_the_runbook_template(triager, project, leak):
    project.repro_command = 'pnpm exec vitest --run -t "{scenarioId}"'
    project.repro_env = "TZ=UTC"
    project.save()
    markdown = triager.get(f"/p/dispatch/defects/{leak.pk}/defect.md").content.decode()

    assert markdown.startswith("# Integration failure: BID-001 / TENANT-004 (bid-open notification")
    for part in ("`BID-001`", "`TENANT-004`", "https://ci.example.test/runs/8812345",
                 "logs/nightly/2026-11-20/ci-artifacts/report.json", "only drivers of org-a",
                 "drv-b-1 of org-b was notified", 'TZ=UTC pnpm exec vitest --run -t "BID-001"',
                 "bidWindowId: `bw-17`"):  # fmt: skip
        assert part in markdown, part


def test_create_github_issue_posts_the_report_with_the_project_token(triager, project, leak):
    github = Receiver(statuses=(201,), answer={"html_url": "https://github.test/acme/app/issues/7"})
    TriageSettings.objects.create(project=project, github_repository="acme/app",
                                  github_token_encrypted=secret_encrypt("ghp-secret"))  # fmt: skip
    try:
        with override_settings(GITHUB_API_URL=github.url):
            response = triager.post(f"/p/dispatch/defects/{leak.pk}/github/", follow=True)
    finally:
        github.close()

    [delivery] = github.deliveries
    assert delivery["path"] == "/repos/acme/app/issues"
    assert delivery["headers"]["Authorization"] == "Bearer ghp-secret"
    assert delivery["body"]["title"].startswith("Integration failure: BID-001 / TENANT-004")
    assert "https://github.test/acme/app/issues/7" in response.content.decode()
    assert leak.events.filter(text__contains="issues/7").exists()


def test_muting_needs_a_reason_and_a_future_end(triager, project, leak):
    later = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert "needs a reason" in act(triager, leak, "mute", until=later, reason="")
    act(triager, leak, "mute", until=later, reason="waiting for the vendor fix")
    leak.refresh_from_db()
    assert leak.state == "muted" and leak.mute_reason == "waiting for the vendor fix"
    listed = triager.get("/p/dispatch/defects/").content.decode()
    assert "BID-001" not in listed
    assert "BID-001" in triager.get("/p/dispatch/defects/?state=muted").content.decode()
