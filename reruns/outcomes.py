"""How a rerun ends: its own report comes back, CI reports a state, or it times out."""

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from reruns.models import Dispatcher, Rerun
from reruns.timeline import rerun_event
from runs.models import Run, Status
from runs.parts import run_is_complete

logger = logging.getLogger(__name__)
ATTACH_AFTER = timedelta(minutes=2)


def _outcome_state(run: Run) -> str:
    if run.status == Status.PASSED:
        return Rerun.State.PASSED
    return Rerun.State.FAILED if run.failed_count else Rerun.State.ERROR


def reruns_attach_report(*, run: Run, fallback: Rerun | None = None) -> Rerun | None:
    """Attach a rerun's own report to the rerun that asked for it, by token or rerunOf.

    A rerun posted in parts is judged when it is whole; until then this does nothing."""
    if not run_is_complete(run, timezone.now()):
        return None
    rerun = None
    if run.rerun_token:
        rerun = Rerun.objects.filter(project_id=run.project_id, token=run.rerun_token).first()
    if rerun is None and run.rerun_of_external_id:
        # Without a token, the oldest rerun of that run already handed to CI is the likeliest
        # sender; a rerun still waiting to be sent cannot have reported.
        rerun = (
            Rerun.objects.filter(
                project_id=run.project_id,
                source_run__external_id=run.rerun_of_external_id,
                report_run__isnull=True,
                state__in=[Rerun.State.DISPATCHED, Rerun.State.RUNNING],
            )
            .order_by("dispatched_at", "pk")
            .first()
        )
    rerun = rerun or fallback
    if rerun is None or rerun.report_run_id:
        return None
    state = _outcome_state(run)
    attached = Rerun.objects.filter(
        pk=rerun.pk,
        report_run__isnull=True,
        state__in=[*Rerun.ACTIVE, Rerun.State.TIMED_OUT, Rerun.State.ERROR],
    ).update(report_run=run, state=state, finished_at=timezone.now())
    if not attached:
        return None
    note = ""
    if state == Rerun.State.PASSED and run.commit and run.commit == rerun.source_run.commit:
        # "Rerun until green" is not a fix: the defect stays as it is.
        note = " It failed before on the same commit: a flake, and the defect stays open."
    rerun_event(rerun.defect, None, state,
           f"rerun {rerun.pk} {state} in run {run.external_id}.{note}")  # fmt: skip
    return rerun


def reruns_attach_missed(*, now: datetime) -> int:
    """Rerun reports whose attaching failed: recent runs that say which rerun they answer."""
    stale = now - ATTACH_AFTER
    attached = 0
    for run in (
        Run.objects.filter(received_at__gte=stale - timedelta(days=2))
        .exclude(rerun_token="", rerun_of_external_id="")
        .exclude(pk__in=Rerun.objects.exclude(report_run=None).values("report_run_id"))[:200]
    ):
        try:
            attached += reruns_attach_report(run=run) is not None
        except Exception:
            logger.exception("attaching run %s to its rerun failed", run.pk)
    return attached


def rerun_status_update(*, rerun: Rerun, state: str, ci_url: str = "") -> bool:
    """What CI says through the callback URL: running, or a final state without a report."""
    allowed = {Rerun.State.RUNNING, Rerun.State.ERROR, Rerun.State.CANCELLED}
    if state not in allowed:
        return False
    updates: dict = {"state": state}
    if ci_url.startswith(("https://", "http://")):
        updates["ci_url"] = ci_url[:2000]
    if state != Rerun.State.RUNNING:
        updates["finished_at"] = timezone.now()
    changed = Rerun.objects.filter(
        pk=rerun.pk, state__in=[Rerun.State.DISPATCHED, Rerun.State.RUNNING]
    ).update(**updates)
    if changed:
        rerun_event(rerun.defect, None, state, f"CI reports rerun {rerun.pk} {state}")
    return bool(changed)


def reruns_time_out(*, now: datetime) -> int:
    timed_out = 0
    for dispatcher in Dispatcher.objects.all():
        deadline = now - timedelta(minutes=dispatcher.timeout_minutes)
        for rerun in Rerun.objects.filter(
            project_id=dispatcher.project_id,
            state__in=[Rerun.State.DISPATCHED, Rerun.State.RUNNING],
            dispatched_at__lt=deadline,
        ).select_related("defect"):
            if Rerun.objects.filter(pk=rerun.pk, state=rerun.state).update(
                state=Rerun.State.TIMED_OUT, finished_at=now
            ):
                timed_out += 1
                waited = f"no report after {dispatcher.timeout_minutes} minutes"
                rerun_event(
                    rerun.defect, None, Rerun.State.TIMED_OUT, f"rerun {rerun.pk}: {waited}"
                )
    return timed_out
