"""Notifications: outbox rows written with their cause, sent after commit by a task.

A message is a digest: one per channel for a run or a sweep, listing what needs a person,
never one per defect."""

from collections.abc import Callable, Iterable

from django.contrib.auth import get_user_model
from django.db import transaction

from defects.models import Defect, Notification, TriageSettings
from defects.tasks import send_notification
from runs.models import Project

MAX_LISTED = 20


def _digest_recipients(defects: list[Defect], triage_settings: TriageSettings | None) -> list[str]:
    teams = {d.owner_team_id for d in defects if d.owner_team_id}
    assignees = {d.assignee_id for d in defects if d.assignee_id}
    users = get_user_model().objects.filter(pk__in=assignees) | get_user_model().objects.filter(
        teams__in=teams
    )
    addresses = {email for email in users.values_list("email", flat=True) if email}
    if triage_settings:
        addresses |= {line.strip() for line in triage_settings.notify_emails.splitlines()}
    return sorted(address for address in addresses if address)


def digest_queue(
    *,
    project: Project,
    subject: str,
    defects: list[Defect],
    notes: Iterable[str] = (),
    link: Callable[[Defect], str],
) -> list[Notification]:
    """One email and one webhook message listing `defects` (the first MAX_LISTED, then how
    many more) and `notes`; sent after commit."""
    lines = [*notes]
    for defect in defects[:MAX_LISTED]:
        lines.append(f"- {defect.title} ({defect.get_state_display()}): {link(defect)}")
    if len(defects) > MAX_LISTED:
        lines.append(f"… and {len(defects) - MAX_LISTED} more")
    body = "\n".join(lines)
    triage_settings = TriageSettings.objects.filter(project=project).first()
    # A digest about one item stays attached to it, so its page lists the message.
    about = defects[0] if len(defects) == 1 else None
    rows = []
    recipients = _digest_recipients(defects, triage_settings)
    if recipients:
        rows.append(
            Notification(
                project=project, defect=about, channel=Notification.Channel.EMAIL,
                subject=subject[:300], body=body, recipients="\n".join(recipients),
            )
        )  # fmt: skip
    if triage_settings and triage_settings.webhook_url:
        rows.append(
            Notification(
                project=project, defect=about, channel=Notification.Channel.WEBHOOK,
                subject=subject[:300], body=body, recipients=triage_settings.webhook_url,
            )
        )  # fmt: skip
    created = Notification.objects.bulk_create(rows)
    for row in created:
        transaction.on_commit(lambda pk=row.pk: send_notification.delay(pk), robust=True)
    return created
