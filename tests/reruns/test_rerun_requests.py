"""Asking for reruns: who may ask, how many at once, and cancelling one not yet sent."""

import pytest
from django.test import override_settings

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


def test_a_repeated_request_at_the_limit_gets_its_rerun_back_not_a_refusal(failing_run):
    project, _, user, run = failing_run
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/",
                              max_concurrent=1)  # fmt: skip
    ask = dict(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
               ref_kind="commit")  # fmt: skip
    first = rerun_request(**ask, idempotency_key="k-once")
    assert rerun_request(**ask, idempotency_key="k-once").pk == first.pk
    with pytest.raises(RerunRefused, match="1 reruns are under way"):
        rerun_request(**ask, idempotency_key="k-other")
    assert list(Rerun.objects.values_list("idempotency_key", flat=True)) == ["k-once"]


def test_only_a_rerun_not_yet_sent_can_be_cancelled(failing_run, settings):
    project, _, user, run = failing_run
    # Waiting for a worker (a broker that is down): a call from the request leaves at once.
    settings.RERUN_DISPATCH_FROM_REQUEST = False
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/")
    waiting = rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                            ref_kind="commit", idempotency_key="k-a")  # fmt: skip
    sent = rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-002"],
                         ref_kind="commit", idempotency_key="k-b")  # fmt: skip
    Rerun.objects.filter(pk=sent.pk).update(state="dispatched")
    assert rerun_cancel(rerun=waiting, user=user) is True
    assert rerun_cancel(rerun=sent, user=user) is False
    assert Rerun.objects.get(pk=waiting.pk).state == "cancelled"


@pytest.mark.parametrize("key", ["k\r\nX-Injected: 1", "k" * 65, "k y", "k\x00"])
def test_an_idempotency_key_ci_could_not_carry_is_refused_at_the_door(client, failing_run, key):
    project, _, user, run = failing_run
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/")
    client.force_login(user)

    answer = client.post(f"/p/dispatch/runs/{run.pk}/rerun/", {"key": key, "failed": "1"},
                         follow=True)  # fmt: skip

    assert answer.status_code == 200 and "idempotency key" in answer.content.decode()
    assert not Rerun.objects.exists()


def test_a_dispatch_that_fails_unexpectedly_ends_in_error_and_frees_its_slot(failing_run):
    from reruns.dispatching import rerun_dispatch

    project, _, user, run = failing_run
    # A command the server defines but that cannot even be read: a TypeError in the dispatcher.
    Dispatcher.objects.create(project=project, kind="command", command_name="broken",
                              max_concurrent=1)  # fmt: skip
    with override_settings(RERUN_COMMANDS={"broken": {"argv": None}}):
        rerun = rerun_request(project=project, user=user, source_run=run,
                              scenario_keys=["BID-001"], ref_kind="commit",
                              idempotency_key="k-1")  # fmt: skip
        assert rerun_dispatch(rerun.pk) == "error"

    rerun.refresh_from_db()
    assert rerun.state == "error" and rerun.last_error == "could not be sent: TypeError"
    # Its slot is free again: a new request is taken.
    rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                  ref_kind="commit", idempotency_key="k-2")  # fmt: skip


def test_a_dispatch_whose_workers_keep_dying_gives_up_in_words(failing_run, settings):
    from datetime import timedelta

    from django.utils import timezone

    from reruns.dispatching import rerun_dispatch

    project, _, user, run = failing_run
    Dispatcher.objects.create(project=project, kind="webhook", webhook_url="http://127.0.0.1:9/")
    rerun = rerun_request(project=project, user=user, source_run=run, scenario_keys=["BID-001"],
                          ref_kind="commit", idempotency_key="k-1")  # fmt: skip
    Rerun.objects.filter(pk=rerun.pk).update(
        state="dispatching", attempts=settings.RERUN_MAX_DISPATCH_ATTEMPTS,
        lease_until=timezone.now() - timedelta(minutes=1),
    )  # fmt: skip

    assert rerun_dispatch(rerun.pk) == "not claimable"

    rerun.refresh_from_db()
    assert rerun.state == "error" and "gave up after" in rerun.last_error
