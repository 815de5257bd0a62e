"""The job Celery beat runs every RERUN_SWEEP_SECONDS (in the embedded mode, `run_periodic`)."""

from celery import shared_task
from django.utils import timezone

from reruns.outcomes import reruns_attach_missed, reruns_time_out
from reruns.requests import reruns_sweep


@shared_task
def sweep_reruns() -> dict[str, int]:
    now = timezone.now()
    return {
        "queued": reruns_sweep(now=now),
        "timed_out": reruns_time_out(now=now),
        "attached": reruns_attach_missed(now=now),
    }
