"""Notifications: outbox rows written with their cause, sent after commit by a task."""

from django.db import transaction

from defects.models import Defect, Notification, TriageSettings
from defects.tasks import send_notification


def _recipients(defect: Defect, triage_settings: TriageSettings | None) -> list[str]:
    addresses = []
    if defect.owner_team_id:
        addresses += [
            email for email in defect.owner_team.members.values_list("email", flat=True) if email
        ]
    if defect.assignee_id and defect.assignee.email:
        addresses.append(defect.assignee.email)
    if triage_settings:
        addresses += [line.strip() for line in triage_settings.notify_emails.splitlines()]
    return sorted({address for address in addresses if address})


def notification_queue(*, defect: Defect, subject: str, body: str) -> list[Notification]:
    """Write email and webhook notifications for a defect and send them after commit."""
    triage_settings = TriageSettings.objects.filter(project_id=defect.project_id).first()
    rows = []
    recipients = _recipients(defect, triage_settings)
    if recipients:
        rows.append(
            Notification(
                project_id=defect.project_id, defect=defect, channel=Notification.Channel.EMAIL,
                subject=subject, body=body, recipients="\n".join(recipients),
            )
        )  # fmt: skip
    if triage_settings and triage_settings.webhook_url:
        rows.append(
            Notification(
                project_id=defect.project_id, defect=defect, channel=Notification.Channel.WEBHOOK,
                subject=subject, body=body, recipients=triage_settings.webhook_url,
            )
        )  # fmt: skip
    created = Notification.objects.bulk_create(rows)
    for row in created:
        # robust: with the broker down the row stays pending and the sweep sends it later.
        transaction.on_commit(lambda pk=row.pk: send_notification.delay(pk), robust=True)
    return created
