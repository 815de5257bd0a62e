"""The task that follows a stored report in a worker. Thin: it takes ids and calls a service.

Apart from `reruns.tasks`, whose dispatch service itself stores reports (a command rerun's),
so that queueing this task from the arrival door makes no import circle."""

from celery import shared_task

from reruns.follow_up import report_follow_up


@shared_task(acks_late=True)
def follow_up_report(run_id: int, rerun_id: int | None = None) -> None:
    report_follow_up(run_id=run_id, rerun_id=rerun_id)
