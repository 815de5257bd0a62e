"""What people do to defects. Each change names the version it saw; a change made meanwhile
by someone else wins and the late one is refused with who changed it, never overwritten."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from defects.models import Defect, DefectClass, DefectEvent, Team
from defects.routing import RouteInput, project_rules, route
from defects.states import (
    ACKNOWLEDGE,
    ASSIGN,
    CLASSIFY,
    COMMENT,
    MUTE,
    REOPEN,
    RESOLVE,
    ROUTE,
    allows,
    refusal,
)  # fmt: skip
from runs.models import Membership


class ActionRefused(Exception):
    """The action does not apply (bad input, wrong state); nothing changed."""


class ChangedMeanwhile(Exception):
    def __init__(self, defect: Defect, by: str) -> None:
        super().__init__(f"changed by {by} meanwhile")
        self.defect = defect
        self.by = by


@dataclass(frozen=True)
class Change:
    kind: str
    from_value: str
    to_value: str
    text: str = ""


def _require(defect: Defect, action: str) -> None:
    if not allows(defect.state, action):
        raise ActionRefused(refusal(defect.state, action))


def _last_actor(defect: Defect) -> str:
    return defect.changed_by.get_username() if defect.changed_by_id else "Triage"


def _apply(
    defect: Defect, version: int, actor: AbstractBaseUser, fields: dict[str, Any], changes: list
) -> Defect:
    with transaction.atomic():
        updated = Defect.objects.filter(pk=defect.pk, version=version).update(
            **fields, version=F("version") + 1, updated_at=timezone.now(), changed_by=actor
        )
        if not updated:
            fresh = Defect.objects.select_related("changed_by").get(pk=defect.pk)
            raise ChangedMeanwhile(fresh, _last_actor(fresh))
        DefectEvent.objects.bulk_create(
            [
                DefectEvent(
                    defect=defect, actor=actor, kind=change.kind, from_value=change.from_value,
                    to_value=change.to_value, text=change.text,
                )
                for change in changes
            ]
        )  # fmt: skip
    return Defect.objects.select_related("owner_team", "assignee", "routed_by").get(pk=defect.pk)


def defect_acknowledge(*, defect: Defect, version: int, actor: AbstractBaseUser) -> Defect:
    _require(defect, ACKNOWLEDGE)
    return _apply(
        defect, version, actor,
        {"state": Defect.State.ACKNOWLEDGED, "acknowledged_at": timezone.now()},
        [Change(DefectEvent.Kind.STATE, defect.state, Defect.State.ACKNOWLEDGED)],
    )  # fmt: skip


def defect_classify(
    *, defect: Defect, version: int, actor: AbstractBaseUser, defect_class: str, reason: str = ""
) -> Defect:
    _require(defect, CLASSIFY)
    if defect_class not in DefectClass.values:
        raise ActionRefused(f"unknown class {defect_class!r}")
    if defect_class == defect.defect_class:
        raise ActionRefused(f"already classified as {defect.get_defect_class_display()}")
    fields: dict[str, Any] = {"defect_class": defect_class}
    changes = [Change(DefectEvent.Kind.CLASS, defect.defect_class, defect_class, reason)]
    # An owner that a rule chose follows the rules again once the class is known.
    if defect.routed_by_id or defect.owner_team_id is None:
        rule = route(
            project_rules(defect.project_id),
            RouteInput(
                defect_class=defect_class, scenario_key=defect.scenario_key,
                invariant_key=defect.invariant_key, file=defect.scenario_file,
            ),
        )  # fmt: skip
        if rule and rule.team_id and rule.team_id != defect.owner_team_id:
            fields.update(owner_team=rule.team, routed_by=rule)
            changes.append(
                Change(
                    DefectEvent.Kind.OWNER,
                    defect.owner_team.name if defect.owner_team_id else "",
                    rule.team.name,
                    f"routed by rule {rule.position} after classification",
                )
            )
    return _apply(defect, version, actor, fields, changes)


def defect_route(
    *, defect: Defect, version: int, actor: AbstractBaseUser, team: Team, reason: str
) -> Defect:
    _require(defect, ROUTE)
    if not reason.strip():
        raise ActionRefused("routing by hand needs a reason")
    if team.project_id != defect.project_id:
        raise ActionRefused("that team is not in this project")
    return _apply(
        defect, version, actor, {"owner_team": team, "routed_by": None},
        [Change(DefectEvent.Kind.OWNER,
                defect.owner_team.name if defect.owner_team_id else "", team.name, reason)],
    )  # fmt: skip


def defect_assign(
    *, defect: Defect, version: int, actor: AbstractBaseUser, assignee: AbstractBaseUser | None
) -> Defect:
    _require(defect, ASSIGN)
    if (
        assignee is not None
        and not Membership.objects.filter(
            project_id=defect.project_id,
            user=assignee,
            role__in=Membership.roles_at_least(Membership.Role.TRIAGER),
        ).exists()
    ):
        raise ActionRefused(f"{assignee.get_username()} cannot act on this project's defects")
    before = defect.assignee.get_username() if defect.assignee_id else ""
    after = assignee.get_username() if assignee else ""
    return _apply(
        defect, version, actor, {"assignee": assignee},
        [Change(DefectEvent.Kind.ASSIGNEE, before, after)],
    )  # fmt: skip


def defect_resolve(
    *, defect: Defect, version: int, actor: AbstractBaseUser, reason: str = ""
) -> Defect:
    _require(defect, RESOLVE)
    return _apply(
        defect, version, actor, {"state": Defect.State.RESOLVED, "resolved_at": timezone.now()},
        [Change(DefectEvent.Kind.STATE, defect.state, Defect.State.RESOLVED, reason)],
    )  # fmt: skip


def defect_reopen(
    *, defect: Defect, version: int, actor: AbstractBaseUser, reason: str = ""
) -> Defect:
    _require(defect, REOPEN)
    return _apply(
        defect, version, actor,
        {"state": Defect.State.ACKNOWLEDGED, "muted_until": None, "mute_reason": ""},
        [Change(DefectEvent.Kind.STATE, defect.state, Defect.State.ACKNOWLEDGED, reason)],
    )  # fmt: skip


def defect_mute(
    *, defect: Defect, version: int, actor: AbstractBaseUser, reason: str, until: datetime
) -> Defect:
    _require(defect, MUTE)
    if not reason.strip():
        raise ActionRefused("muting needs a reason")
    if until <= timezone.now():
        raise ActionRefused("the mute must end in the future")
    return _apply(
        defect, version, actor,
        {"state": Defect.State.MUTED, "mute_reason": reason, "muted_until": until},
        [Change(DefectEvent.Kind.MUTE, defect.state, f"muted until {until:%Y-%m-%d %H:%M}",
                reason)],
    )  # fmt: skip


def defect_comment(*, defect: Defect, actor: AbstractBaseUser, text: str) -> Defect:
    """Comments never conflict: they only add to the timeline."""
    _require(defect, COMMENT)
    if not text.strip():
        raise ActionRefused("the comment is empty")
    with transaction.atomic():
        DefectEvent.objects.create(
            defect=defect, actor=actor, kind=DefectEvent.Kind.COMMENT, text=text[:10_000]
        )
        Defect.objects.filter(pk=defect.pk).update(updated_at=timezone.now())
    return Defect.objects.select_related("owner_team", "assignee", "routed_by").get(pk=defect.pk)


def defect_perform(
    *, defect: Defect, actor: AbstractBaseUser, action: str, version: int, params: dict[str, Any]
) -> Defect:
    """One named action with its parameters, as the defect page and bulk lists send them."""
    reason = params.get("reason") or ""
    if action == ACKNOWLEDGE:
        return defect_acknowledge(defect=defect, version=version, actor=actor)
    if action == CLASSIFY:
        return defect_classify(
            defect=defect, version=version, actor=actor,
            defect_class=params.get("defect_class") or "", reason=reason,
        )  # fmt: skip
    if action == ASSIGN:
        return defect_assign(
            defect=defect, version=version, actor=actor, assignee=params.get("assignee")
        )
    if action == ROUTE:
        team = params.get("team")
        if team is None:
            raise ActionRefused("choose a team")
        return defect_route(defect=defect, version=version, actor=actor, team=team, reason=reason)
    if action == RESOLVE:
        return defect_resolve(defect=defect, version=version, actor=actor, reason=reason)
    if action == REOPEN:
        return defect_reopen(defect=defect, version=version, actor=actor, reason=reason)
    if action == MUTE:
        until = params.get("until")
        if until is None:
            raise ActionRefused("choose when the mute ends")
        return defect_mute(defect=defect, version=version, actor=actor, reason=reason, until=until)
    if action == COMMENT:
        return defect_comment(defect=defect, actor=actor, text=params.get("text") or "")
    raise ActionRefused(f"unknown action {action!r}")
