"""Periodic checks: unclassified defects past their deadline, mutes that ran out."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from defects.grouping import defect_path
from defects.models import Defect, DefectClass, DefectEvent, TriageSettings
from defects.notifications import digest_queue

DEFAULT_ESCALATE_AFTER_MINUTES = TriageSettings._meta.get_field("escalate_after_minutes").default


def defects_escalate_unclassified(*, now: datetime) -> list[Defect]:
    """Escalate each open defect still unclassified after its project's deadline, once."""
    candidates = list(
        Defect.objects.filter(
            escalated_at__isnull=True,
            defect_class=DefectClass.UNCLASSIFIED,
            state__in=Defect.OPEN_STATES,
            created_at__lte=now - timedelta(minutes=1),
        ).select_related("project", "scenario", "invariant", "owner_team", "assignee")
    )
    deadlines = dict(
        TriageSettings.objects.filter(
            project_id__in={defect.project_id for defect in candidates}
        ).values_list("project_id", "escalate_after_minutes")
    )
    escalated = []
    for defect in candidates:
        minutes = deadlines.get(defect.project_id, DEFAULT_ESCALATE_AFTER_MINUTES)
        # The clock starts when Triage first recorded the defect: a nightly reported 35
        # minutes after it started must still get its 20 minutes.
        if defect.created_at > now - timedelta(minutes=minutes):
            continue
        with transaction.atomic():
            # The conditional update is the claim: two beat runs cannot both escalate it, and
            # one classified or closed meanwhile is not escalated at all.
            claimed = Defect.objects.filter(
                pk=defect.pk,
                escalated_at__isnull=True,
                defect_class=DefectClass.UNCLASSIFIED,
                state__in=Defect.OPEN_STATES,
            ).update(escalated_at=now)
            if not claimed:
                continue
            DefectEvent.objects.create(
                defect=defect, kind=DefectEvent.Kind.ESCALATION, to_value="unclassified",
                text=f"still unclassified {minutes} minutes after it first appeared",
            )  # fmt: skip
        escalated.append(defect)
    _notify(escalated, deadlines)
    return escalated


def _notify(escalated: list[Defect], deadlines: dict[int, int]) -> None:
    """One message per project and channel for the sweep, not one per defect."""
    by_project: dict[int, list[Defect]] = {}
    for defect in escalated:
        by_project.setdefault(defect.project_id, []).append(defect)
    for defects in by_project.values():
        project = defects[0].project
        minutes = deadlines.get(project.pk, DEFAULT_ESCALATE_AFTER_MINUTES)
        count = len(defects)
        digest_queue(
            project=project,
            subject=f"[{project.slug}] {count} unclassified for {minutes} min"
            if count > 1
            else f"[{project.slug}] Unclassified for {minutes} min: {defects[0].title}",
            defects=defects,
            notes=[
                f"First failed in runs that started from "
                f"{min(d.first_seen for d in defects):%Y-%m-%d %H:%M} UTC; nobody has "
                "classified them."
            ],
            link=defect_path,
        )


def mutes_expire(*, now: datetime) -> int:
    expired = list(
        Defect.objects.filter(state=Defect.State.MUTED, muted_until__lte=now).values_list(
            "pk", flat=True
        )
    )
    for pk in expired:
        with transaction.atomic():
            if Defect.objects.filter(pk=pk, state=Defect.State.MUTED).update(
                state=Defect.State.ACKNOWLEDGED, version=F("version") + 1, changed_by=None
            ):
                DefectEvent.objects.create(
                    defect_id=pk, kind=DefectEvent.Kind.STATE, from_value=Defect.State.MUTED,
                    to_value=Defect.State.ACKNOWLEDGED, text="the mute ran out",
                )  # fmt: skip
    return len(expired)
