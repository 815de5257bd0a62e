"""Tasks the defect services queue. Thin: each takes an id and calls a service.

Only tasks whose services queue nothing live here, so services can import this module
without an import circle; the periodic jobs are in `defects.periodic`."""

from celery import shared_task

from defects.delivery import MAX_SEND_ATTEMPTS, DeliveryFailed, notification_send


@shared_task(bind=True, acks_late=True, max_retries=MAX_SEND_ATTEMPTS)
def send_notification(self, notification_id: int) -> str:
    try:
        return notification_send(notification_id)
    except DeliveryFailed as exc:
        raise self.retry(exc=exc, countdown=min(300, 2**exc.attempts)) from exc
