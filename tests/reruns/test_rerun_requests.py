"""Asking for reruns: who may ask, how many at once, and cancelling one not yet sent."""

import pytest

from reruns.models import Dispatcher, Rerun
from reruns.requests import RerunRefused, rerun_cancel, rerun_request
from runs.models import Membership
from tests.builders import a_user

pytestmark = pytest.mark.django_db(transaction=True)


def click(client, run, key: str, **fields):
    return client.post(f"/p/dispatch/runs/{run.pk}/rerun/", {"key": key, **fields})


def test_a_viewer_cannot_ask_for_reruns(client, failing_run):
    project, _, _, run = failing_run
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/")
    client.force_login(a_user("vera", member_of=project, role=Membership.Role.VIEWER))
    assert click(client, run, "k-v", failed="1").status_code == 403
    assert not Rerun.objects.exists()


def test_a_project_has_a_limit_of_concurrent_reruns(failing_run):
    project, _, user, run = failing_run
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/",
                              max_concurrent=2)  # fmt: skip
    for key in ("k-1", "k-2"):
        rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                      ref_kind="commit", idempotency_key=key)  # fmt: skip
    with pytest.raises(RerunRefused, match="2 reruns are under way"):
        rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                      ref_kind="commit", idempotency_key="k-3")  # fmt: skip


def test_only_a_rerun_not_yet_sent_can_be_cancelled(failing_run):
    project, _, user, run = failing_run
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/")
    waiting = rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                            ref_kind="commit", idempotency_key="k-a")  # fmt: skip
    sent = rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-002"],
                         ref_kind="commit", idempotency_key="k-b")  # fmt: skip
    Rerun.objects.filter(pk=sent.pk).update(state="dispatched")
    assert rerun_cancel(rerun=waiting, user=user) is True
    assert rerun_cancel(rerun=sent, user=user) is False
    assert Rerun.objects.get(pk=waiting.pk).state == "cancelled"
