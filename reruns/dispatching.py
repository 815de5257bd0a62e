"""Sending a rerun to CI: a task claims the row by conditional update and sends it once."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from reruns.arrivals import report_arrived
from reruns.dispatchers import DispatchRefused, TransientDispatchError, dispatch
from reruns.models import Dispatcher, Rerun
from reruns.timeline import rerun_event
from runs.ingest import ReportConflict
from runs.schema import ReportInvalid, report_parse

logger = logging.getLogger(__name__)


def _lease_seconds(dispatcher: Dispatcher | None) -> int:
    """A local command may run for its whole timeout: the lease must outlast it."""
    lease = settings.RERUN_DISPATCH_LEASE_SECONDS
    if dispatcher and dispatcher.kind == Dispatcher.Kind.COMMAND:
        spec = settings.RERUN_COMMANDS.get(dispatcher.command_name) or {}
        lease = max(lease, int(spec.get("timeout", 600)) + 60)
    return lease


def _claim(rerun_id: int, now: datetime, dispatcher: Dispatcher | None) -> bool:
    # The conditional update is the lock: a second worker, a retried or redelivered task
    # finds nothing to claim, unless the claimer died and its lease ran out.
    lease = now + timedelta(seconds=_lease_seconds(dispatcher))
    limit = settings.RERUN_MAX_DISPATCH_ATTEMPTS
    lapsed = Q(state=Rerun.State.DISPATCHING, lease_until__lt=now)
    claimed = Rerun.objects.filter(
        Q(state=Rerun.State.REQUESTED) | (lapsed & Q(attempts__lt=limit)), pk=rerun_id
    ).update(state=Rerun.State.DISPATCHING, lease_until=lease, attempts=F("attempts") + 1)
    if not claimed:
        # A dispatch whose workers kept dying ends here, in words, instead of being taken
        # over forever and counting against the project's concurrency limit.
        Rerun.objects.filter(lapsed, pk=rerun_id, attempts__gte=limit).update(
            state=Rerun.State.ERROR, finished_at=now,
            last_error=f"gave up after {limit} attempts to dispatch",
        )  # fmt: skip
    return bool(claimed)


def rerun_dispatch(rerun_id: int) -> str:
    """Claim and send one rerun. Raises TransientDispatchError when worth retrying."""
    # Read once, before the claim: its kind sets the lease, and it is what the rerun goes to.
    dispatcher = Dispatcher.objects.filter(project__reruns=rerun_id).first()
    if not _claim(rerun_id, timezone.now(), dispatcher):
        return "not claimable"
    rerun = Rerun.objects.select_related("project", "source_run", "defect").get(pk=rerun_id)
    return _send(rerun, dispatcher)


HANDED_BACK = "handed back"


def claimed_fields(dispatcher: Dispatcher, now: datetime) -> dict[str, object]:
    """A claim written as the rerun is stored, by a request that sends it itself."""
    lease = now + timedelta(seconds=_lease_seconds(dispatcher))
    return {"state": Rerun.State.DISPATCHING, "lease_until": lease, "attempts": 1}


def rerun_send_claimed(rerun: Rerun, dispatcher: Dispatcher) -> str:
    """Send a rerun its request claimed when storing it (`claimed_fields`), as the request has
    it in memory, its project, run and defect included. Raises TransientDispatchError when
    worth retrying, as `rerun_dispatch` does."""
    half_the_claim = timedelta(seconds=_lease_seconds(dispatcher) / 2)
    if timezone.now() > rerun.lease_until - half_the_claim:
        # Waited too long to be sure of finishing the call within the claim, which would let
        # a worker send it too: the claim goes back, unused, for a worker to take at once.
        _held(rerun).update(
            state=Rerun.State.REQUESTED, lease_until=None, attempts=rerun.attempts - 1
        )
        logger.warning("rerun %s waited past half its claim; handed to a worker", rerun.pk)
        return HANDED_BACK
    return _send(rerun, dispatcher)


def _held(rerun: Rerun) -> QuerySet[Rerun]:
    # Only the holder of this claim (its attempt number) records the outcome: a sender that
    # outlived its lease must not overwrite what the next one did.
    return Rerun.objects.filter(pk=rerun.pk, state=Rerun.State.DISPATCHING, attempts=rerun.attempts)


def _send(rerun: Rerun, dispatcher: Dispatcher | None) -> str:
    try:
        if dispatcher is None:
            raise DispatchRefused("the project's dispatcher was removed")
        sent = dispatch(dispatcher, rerun)
    except TransientDispatchError as exc:
        final = rerun.attempts >= settings.RERUN_MAX_DISPATCH_ATTEMPTS
        _held(rerun).update(
            state=Rerun.State.ERROR if final else Rerun.State.DISPATCHING,
            # An expired lease lets the retry claim it again at once.
            lease_until=timezone.now(),
            last_error=str(exc)[:2000],
            finished_at=timezone.now() if final else None,
        )
        if final:
            rerun_event(rerun.defect, None, Rerun.State.ERROR, f"rerun {rerun.pk} failed: {exc}")
            return "error"
        raise
    except DispatchRefused as exc:
        _held(rerun).update(
            state=Rerun.State.ERROR, last_error=str(exc)[:2000], finished_at=timezone.now()
        )
        rerun_event(rerun.defect, None, Rerun.State.ERROR, f"rerun {rerun.pk} refused: {exc}")
        return "refused"
    except Exception as exc:
        # Whatever else goes wrong ends in a recorded state: the rerun is no longer counted
        # as running, can be asked again, and says what happened (the trace goes to the log).
        logger.exception("dispatching rerun %s failed", rerun.pk)
        problem = f"could not be sent: {type(exc).__name__}"
        _held(rerun).update(state=Rerun.State.ERROR, last_error=problem, finished_at=timezone.now())
        rerun_event(rerun.defect, None, Rerun.State.ERROR, f"rerun {rerun.pk} {problem}")
        return "error"
    _held(rerun).update(
        state=Rerun.State.DISPATCHED,
        dispatched_at=timezone.now(),
        ci_url=sent.ci_url,
        exit_code=sent.exit_code,
        output_tail=sent.output_tail,
        last_error="",
    )
    rerun_event(rerun.defect, None, Rerun.State.DISPATCHED, f"rerun {rerun.pk} sent to CI")
    if dispatcher.kind == Dispatcher.Kind.COMMAND:
        _ingest_command_report(rerun, sent.report, sent.exit_code)
    return "dispatched"


def _ingest_command_report(rerun: Rerun, report: bytes | None, exit_code: int | None) -> None:
    if report is None:
        Rerun.objects.filter(pk=rerun.pk).update(
            state=Rerun.State.ERROR, finished_at=timezone.now(),
            last_error=f"the command wrote no report (exit code {exit_code})",
        )  # fmt: skip
        return
    try:
        report_arrived(project=rerun.project, report=report_parse(report), rerun=rerun)
    except (ReportInvalid, ReportConflict) as exc:
        Rerun.objects.filter(pk=rerun.pk).update(
            state=Rerun.State.ERROR, finished_at=timezone.now(),
            last_error=f"the command's report was refused: {exc}",
        )  # fmt: skip
