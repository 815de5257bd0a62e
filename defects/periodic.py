"""Jobs Celery beat runs every minute (in the embedded mode, `run_periodic`)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from defects.escalation import defects_escalate_unclassified, mutes_expire
from defects.grouping import defects_record_run
from defects.models import Notification, TriagedRun
from defects.tasks import send_notification
from runs.models import Run

logger = logging.getLogger(__name__)
SWEEP_AFTER = timedelta(minutes=2)


@shared_task
def escalate_defects() -> int:
    now = timezone.now()
    mutes_expire(now=now)
    return len(defects_escalate_unclassified(now=now))


@shared_task
def sweep_defects() -> dict[str, int]:
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
