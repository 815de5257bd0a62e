"""Asking for reruns: a request is a row first, handed over for dispatch after commit."""

import copy
import logging
import re
import secrets
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from defects.models import Defect
from operations.background_thread import run_in_background
from reruns.dispatchers import TransientDispatchError
from reruns.dispatching import HANDED_BACK, claimed_fields, rerun_send_claimed
from reruns.models import Dispatcher, Rerun
from reruns.tasks import dispatch_rerun
from reruns.timeline import rerun_event
from runs.models import Project, Run

logger = logging.getLogger(__name__)
MAX_SCENARIOS_PER_RERUN = 200
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
SWEEP_GRACE = timedelta(seconds=5)


class RerunRefused(Exception):
    pass


def _queue(rerun_id: int, *, countdown: int = 0) -> None:
    try:
        dispatch_rerun.apply_async((rerun_id,), countdown=countdown or None)
    except Exception:
        # Broker down: the row stays "requested" (or its lease runs out) and the sweep queues
        # it when the broker is back.
        logger.warning("could not queue rerun %s; the sweep will", rerun_id, exc_info=True)


def _claim_if_sent_from_here(dispatcher: Dispatcher) -> dict[str, object]:
    """A CI call leaves from this process, its row claimed as it is stored: no worker takes it
    up unless this process dies and the claim's lease runs out. A local command, which runs a
    whole suite, and every retry go to the workers."""
    if settings.RERUN_DISPATCH_FROM_REQUEST and dispatcher.kind != Dispatcher.Kind.COMMAND:
        return claimed_fields(dispatcher, timezone.now())
    return {}


def _hand_over(rerun: Rerun, dispatcher: Dispatcher) -> None:
    if rerun.state == Rerun.State.DISPATCHING:
        # A copy of the row's fields: the background thread sets the attempt number and state
        # on its own, the caller reads the row as it stored it. Related rows are only read.
        try:
            run_in_background(partial(_send_now, copy.copy(rerun), dispatcher))
        except RuntimeError:
            # No thread to be had: the claim lapses and the sweep hands the rerun to a worker.
            logger.warning("could not send rerun %s; the sweep will", rerun.pk, exc_info=True)
    else:
        _queue(rerun.pk)


def _send_now(rerun: Rerun, dispatcher: Dispatcher) -> None:
    try:
        outcome = rerun_send_claimed(rerun, dispatcher)
    except TransientDispatchError:
        _queue(rerun.pk, countdown=1)
        return
    if outcome == HANDED_BACK:
        _queue(rerun.pk)


def rerun_request(
    *,
    project: Project,
    user: AbstractBaseUser,
    source_run: Run,
    scenario_keys: list[str],
    ref_kind: str,
    idempotency_key: str,
    defect: Defect | None = None,
) -> Rerun:
    """Store a rerun request and queue its dispatch after commit; a repeated key returns it."""
    if not idempotency_key:
        raise RerunRefused("the request has no idempotency key")
    if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        # It travels to CI in a header and a JSON body: checked here, not at dispatch time.
        raise RerunRefused("the idempotency key must be 1 to 64 letters, digits, - or _")
    keys = sorted(set(scenario_keys))
    if not keys:
        raise RerunRefused("no scenario to rerun")
    if len(keys) > MAX_SCENARIOS_PER_RERUN:
        raise RerunRefused(f"at most {MAX_SCENARIOS_PER_RERUN} scenarios per rerun")
    if ref_kind not in Rerun.Ref.values:
        raise RerunRefused(f"unknown ref {ref_kind!r}")
    try:
        with transaction.atomic():
            # Its lock serialises the requests of one project, so the concurrency limit holds
            # under races.
            dispatcher = Dispatcher.objects.select_for_update().filter(project=project).first()
            if dispatcher is None:
                raise RerunRefused("this project has no rerun dispatcher; an admin can set one up")
            # Stored first, counted after: a repeated key fails here on the unique key (and is
            # answered below with its rerun) before the limit is looked at, without a query of
            # its own before every new request.
            claim = _claim_if_sent_from_here(dispatcher)
            rerun = Rerun.objects.create(
                project=project, requested_by=user, source_run=source_run, defect=defect,
                scenario_keys=keys, ref_kind=ref_kind, branch=source_run.branch,
                commit=source_run.commit, token=secrets.token_urlsafe(24),
                idempotency_key=idempotency_key, **claim,
            )  # fmt: skip
            others = Rerun.objects.filter(project=project, state__in=Rerun.ACTIVE).count() - 1
            if others >= dispatcher.max_concurrent:
                raise RerunRefused(
                    f"{others} reruns are under way; this project allows "
                    f"{dispatcher.max_concurrent} at once"
                )
            what = f"rerun of {', '.join(keys)} on {rerun.get_ref_kind_display()} requested"
            rerun_event(defect, user, Rerun.State.REQUESTED, what)
            transaction.on_commit(lambda: _hand_over(rerun, dispatcher))
    except IntegrityError:
        # The key was used before, or a double click raced this one and won: same key, same
        # row.
        already = Rerun.objects.filter(idempotency_key=idempotency_key, project=project).first()
        if already is None:
            raise RerunRefused("that request key was used elsewhere; reload the page") from None
        return already
    return rerun


def rerun_cancel(*, rerun: Rerun, user: AbstractBaseUser) -> bool:
    """Only a rerun not yet handed to CI can be cancelled."""
    cancelled = Rerun.objects.filter(pk=rerun.pk, state=Rerun.State.REQUESTED).update(
        state=Rerun.State.CANCELLED, finished_at=timezone.now()
    )
    if cancelled:
        rerun_event(rerun.defect, user, Rerun.State.CANCELLED, f"rerun {rerun.pk} cancelled")
    return bool(cancelled)


def reruns_sweep(*, now: datetime) -> int:
    """Queue requests whose task was lost (broker down, worker killed past its lease)."""
    stuck = list(
        Rerun.objects.filter(
            Q(state=Rerun.State.REQUESTED, created_at__lte=now - SWEEP_GRACE)
            | Q(state=Rerun.State.DISPATCHING, lease_until__lt=now)
        ).values_list("pk", flat=True)[:500]
    )
    for rerun_id in stuck:
        _queue(rerun_id)
    return len(stuck)
