"""Acting on a defect from its page: each action and its timeline, reasons, concurrent
changes, roles, muting."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from defects.actions import ActionRefused, defect_mute, defect_resolve
from defects.models import Defect
from runs.models import Membership
from tests.builders import a_report, a_scenario, a_team, a_triaged_run, a_user

pytestmark = pytest.mark.django_db


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


def test_a_viewer_can_read_but_not_act(client, project, leak):
    client.force_login(a_user("vera", member_of=project, role=Membership.Role.VIEWER))
    assert client.get(f"/p/dispatch/defects/{leak.pk}/").status_code == 200
    response = client.post(f"/p/dispatch/defects/{leak.pk}/act/",
                           {"action": "acknowledge", "version": leak.version})  # fmt: skip
    assert response.status_code == 403
    assert client.get("/p/dispatch/settings/").status_code == 403
    leak.refresh_from_db()
    assert leak.state == "new"


def test_muting_needs_a_reason_and_a_future_end(triager, project, leak):
    later = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert "needs a reason" in act(triager, leak, "mute", until=later, reason="")
    act(triager, leak, "mute", until=later, reason="waiting for the vendor fix")
    leak.refresh_from_db()
    assert leak.state == "muted" and leak.mute_reason == "waiting for the vendor fix"
    listed = triager.get("/p/dispatch/defects/").content.decode()
    assert "BID-001" not in listed
    assert "BID-001" in triager.get("/p/dispatch/defects/?state=muted").content.decode()


def test_a_resolved_defect_cannot_be_muted(project):
    person = a_user("bob", member_of=project)
    a_triaged_run(project, a_report("run-1", [a_scenario("BID-001", "failed")]))
    defect = defect_resolve(defect=Defect.objects.get(), version=1, actor=person)
    with pytest.raises(ActionRefused):
        defect_mute(defect=defect, version=defect.version, actor=person, reason="x",
                    until=datetime.now(UTC) + timedelta(days=1))  # fmt: skip


def test_comments_render_as_safe_markdown(triager, leak):
    from defects.models import DefectEvent

    DefectEvent.objects.create(
        defect=leak, kind="comment",
        text="**Reproduced** with `asg-311`: see [the run](https://ci.example.test/r/1)\n\n"
        "<script>alert(1)</script> [bad](javascript:alert(2)) ![pixel](https://t.example/p.gif)",
    )  # fmt: skip

    html = triager.get(f"/p/dispatch/defects/{leak.pk}/").content.decode()

    assert "<strong>Reproduced</strong>" in html and "<code>asg-311</code>" in html
    assert '<a rel="nofollow noopener noreferrer" href="https://ci.example.test/r/1">' in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert 'href="javascript:' not in html and "<img" not in html
