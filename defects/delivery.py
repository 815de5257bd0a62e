"""Sending one notification from the outbox: claimed once, retried, marked sent or failed."""

import json

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone

from defects.models import Notification
from operations import outbound

WEBHOOK_TIMEOUT_SECONDS = 10
MAX_SEND_ATTEMPTS = 6


class DeliveryFailed(Exception):
    """Worth another try later; `attempts` says how many were made."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"attempt {attempts} failed")
        self.attempts = attempts


def slack_payload(notification: Notification) -> dict:
    return {
        "text": f"{notification.subject}\n{notification.body}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": notification.subject[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": notification.body[:2900]}},
        ],
    }


def deliver(notification: Notification) -> None:
    """Send one notification; raises on any failure so the caller can retry."""
    if notification.channel == Notification.Channel.EMAIL:
        send_mail(
            subject=notification.subject,
            message=notification.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=notification.recipients.split("\n"),
        )
        return
    status, _ = outbound.post(
        notification.recipients,
        json.dumps(slack_payload(notification)).encode(),
        {"Content-Type": "application/json"},
        timeout=WEBHOOK_TIMEOUT_SECONDS,
    )
    if status >= 300:
        raise ValueError(f"the webhook answered {status}")


def notification_send(notification_id: int) -> str:
    """Claim a pending notification and send it. Raises DeliveryFailed when worth retrying."""
    # Claim by conditional update: a duplicate delivery of the task finds nothing to send.
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
        raise DeliveryFailed(notification.attempts) from exc
    Notification.objects.filter(pk=notification_id).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return "sent"
