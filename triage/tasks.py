"""Thin Celery tasks: each takes an id or nothing and calls a service."""

import logging
from datetime import timedelta

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from runs.models import Run
from triage.defects import defects_record_run
from triage.dispatchers import TransientDispatchError
from triage.escalation import defects_escalate_unclassified, mutes_expire
from triage.models import Notification, Rerun, TriagedRun
from triage.notify import deliver
from triage.reruns import rerun_dispatch, reruns_attach_report, reruns_sweep, reruns_time_out

MAX_SEND_ATTEMPTS = 6
logger = logging.getLogger(__name__)
SWEEP_AFTER = timedelta(minutes=2)


@shared_task(bind=True, acks_late=True, max_retries=MAX_SEND_ATTEMPTS)
def send_notification(self, notification_id: int) -> str:
    # Claim by conditional update: a duplicate delivery of this task finds nothing to send.
    claimed = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.PENDING
    ).update(
        status=Notification.Status.SENDING,
        attempts=F("attempts") + 1,
        claimed_at=timezone.now(),
    )
    if not claimed:
        return "not pending"
    notification = Notification.objects.get(pk=notification_id)
    try:
        deliver(notification)
    except Exception as exc:
        final = notification.attempts >= MAX_SEND_ATTEMPTS
        Notification.objects.filter(pk=notification_id).update(
            status=Notification.Status.FAILED if final else Notification.Status.PENDING,
            last_error=str(exc)[:2000],
        )
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=min(300, 2**notification.attempts)) from exc
    Notification.objects.filter(pk=notification_id).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return "sent"


@shared_task
def escalate_defects() -> int:
    now = timezone.now()
    mutes_expire(now=now)
    return len(defects_escalate_unclassified(now=now))


@shared_task
def record_defects(run_id: int) -> int:
    return len(defects_record_run(run=Run.objects.get(pk=run_id)).created)


@shared_task
def sweep() -> dict[str, int]:
    """Catch up on work whose task was lost (broker down, worker killed)."""
    stale = timezone.now() - SWEEP_AFTER
    untriaged = list(
        Run.objects.filter(received_at__lte=stale, received_at__gte=stale - timedelta(days=2))
        .exclude(pk__in=TriagedRun.objects.values("run_id"))
        .values_list("pk", flat=True)[:200]
    )
    for run_id in untriaged:
        try:
            defects_record_run(run=Run.objects.get(pk=run_id))
        except Exception:
            # One run that cannot be grouped must not stop the rest of the sweep.
            logger.exception("grouping the failures of run %s failed", run_id)
    # Rerun reports whose attaching failed: recent runs that say which rerun they answer.
    for run in (
        Run.objects.filter(received_at__gte=stale - timedelta(days=2))
        .exclude(rerun_token="", rerun_of_external_id="")
        .exclude(pk__in=Rerun.objects.exclude(report_run=None).values("report_run_id"))[:200]
    ):
        try:
            reruns_attach_report(run=run)
        except Exception:
            logger.exception("attaching run %s to its rerun failed", run.pk)
    # A row claimed by a worker that died mid-send goes back to pending.
    Notification.objects.filter(status=Notification.Status.SENDING, claimed_at__lte=stale).update(
        status=Notification.Status.PENDING
    )
    pending = list(
        Notification.objects.filter(
            status=Notification.Status.PENDING, created_at__lte=stale
        ).values_list("pk", flat=True)[:500]
    )
    for notification_id in pending:
        send_notification.delay(notification_id)
    return {"runs": len(untriaged), "notifications": len(pending)}


@shared_task(bind=True, acks_late=True, max_retries=None)
def dispatch_rerun(self, rerun_id: int) -> str:
    try:
        return rerun_dispatch(rerun_id)
    except TransientDispatchError as exc:
        # Exponential backoff; the attempt limit is kept on the row, not in the message.
        raise self.retry(exc=exc, countdown=min(300, 2 ** min(self.request.retries, 8))) from exc


@shared_task
def rerun_sweep() -> dict[str, int]:
    now = timezone.now()
    return {"queued": reruns_sweep(now=now), "timed_out": reruns_time_out(now=now)}
