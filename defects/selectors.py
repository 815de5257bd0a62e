"""Reads for the triage pages: queues, defect lists, one defect with its history."""

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from defects.export import defect_report
from defects.models import (
    Defect,
    DefectEvent,
    DefectOccurrence,
    RoutingRule,
    RunbookVersion,
    SharedCause,
    Team,
    TriageSettings,
)
from defects.runbook import LinkedSection, runbook_current, runbook_render, sections_for_defect
from defects.states import STATE_FILTERS, action_forms
from runs.access import ProjectAccess, projects_visible_to
from runs.models import (
    FailureReason,
    InvariantFailure,
    Membership,
    Project,
    Run,
)

DEFECTS_PER_PAGE = 50
VARIANTS_SHOWN = 20
VARIANTS_LISTED = 4
REASONS_SHOWN = 5
OCCURRENCES_SHOWN = 50


def _with_relations(defects: QuerySet[Defect]) -> QuerySet[Defect]:
    return defects.select_related(
        "project",
        "scenario",
        "invariant",
        "reason",
        "owner_team",
        "assignee",
        "routed_by",
        "last_run",
    )


def my_queue(
    user: AbstractBaseUser, *, project: Project | None = None, unacknowledged: bool = False
) -> list[Defect]:
    """Open defects owned by the user's teams or assigned to them, unacknowledged first."""
    states = [
        s for s in Defect.OPEN_STATES if not (unacknowledged and s == Defect.State.ACKNOWLEDGED)
    ]
    defects = _with_relations(
        Defect.objects.filter(
            project__in=[project] if project else projects_visible_to(user),
            state__in=states,
        ).filter(Q(owner_team__in=Team.objects.filter(members=user)) | Q(assignee=user))
    )
    unacknowledged_first = Case(
        When(state=Defect.State.ACKNOWLEDGED, then=Value(1)), default=Value(0)
    )
    return with_variants(list(defects.order_by(unacknowledged_first, "first_seen", "pk")[:500]))


def with_variants(defects: list[Defect], *, most: int = VARIANTS_LISTED) -> list[Defect]:
    """Each defect with (the first `most` of) the variants it failed in, as `variants_failed`,
    in one query."""
    found: dict[int, set[str]] = {}
    for defect_id, variant in (
        DefectOccurrence.objects.filter(defect__in=defects)
        .exclude(result__variant="")
        .order_by()
        .values_list("defect_id", "result__variant")
        .distinct()
    ):
        found.setdefault(defect_id, set()).add(variant)
    for defect in defects:
        defect.variants_failed = sorted(found.get(defect.pk, ()))[:most]
    return defects


_REGEX_SPECIAL = re.compile(r"([.^$+?()\[\]{}|\\])")


def _wildcard(pattern: str) -> str:
    """`TENANT-*` -> an anchored, case-insensitive regular expression with only `*` special."""
    return "^" + _REGEX_SPECIAL.sub(r"\\\1", pattern).replace("*", ".*") + "$"


def defects_matching(project: Project, filters: dict[str, Any]) -> QuerySet[Defect]:
    """A project's defects, newest activity first, narrowed by `DefectFilterForm.filters()`."""
    defects = Defect.objects.filter(project=project)
    if filters.get("state"):
        defects = defects.filter(state__in=filters["state"])
    if filters.get("defect_class"):
        defects = defects.filter(defect_class=filters["defect_class"])
    if filters.get("team") == "none":
        defects = defects.filter(owner_team__isnull=True)
    elif filters.get("team"):
        defects = defects.filter(owner_team__name=filters["team"])
    if filters.get("scenario"):
        defects = defects.filter(scenario__key__iregex=_wildcard(filters["scenario"]))
    if filters.get("invariant"):
        defects = defects.filter(invariant__key__iregex=_wildcard(filters["invariant"]))
    if filters.get("q"):
        defects = defects.filter(fingerprint__icontains=filters["q"])
    if filters.get("failure_reason"):
        reason = filters["failure_reason"]
        defects = defects.filter(
            Q(reason_id=reason)
            | Q(pk__in=DefectOccurrence.objects.filter(failure__reason_id=reason).values("defect"))
        )
    return _with_relations(defects).order_by("-last_seen", "-pk")


def failure_reason_of(project: Project, filters: dict[str, Any]) -> FailureReason | None:
    """The reason the list is narrowed to, to name it on the page."""
    if not filters.get("failure_reason"):
        return None
    return FailureReason.objects.filter(project=project, pk=filters["failure_reason"]).first()


def defects_page(project: Project, filters: dict[str, Any], page_number: str | None) -> Page:
    # The list shows open defects unless asked for others.
    filters = {"state": STATE_FILTERS["open"], **filters}
    page = Paginator(defects_matching(project, filters), DEFECTS_PER_PAGE).get_page(page_number)
    page.object_list = with_variants(list(page.object_list))
    return page


def defect_for_project(project: Project, defect_id: int) -> Defect:
    return get_object_or_404(_with_relations(Defect.objects.all()), project=project, pk=defect_id)


@dataclass(frozen=True)
class SimilarFailures:
    reason: FailureReason
    failures: int
    scenarios: int


def _similar_failures(defect: Defect) -> list[SimilarFailures]:
    reason_ids = list(
        DefectOccurrence.objects.filter(defect=defect, failure__reason__isnull=False)
        .order_by("failure__reason_id")
        .values_list("failure__reason_id", flat=True)
        .distinct()[:REASONS_SHOWN]
    )
    rows = (
        InvariantFailure.objects.filter(reason_id__in=reason_ids)
        .values("reason_id")
        .annotate(failures=Count("id"), scenarios=Count("scenario_id", distinct=True))
    )
    reasons = FailureReason.objects.in_bulk(reason_ids)
    found = [SimilarFailures(reasons[r["reason_id"]], r["failures"], r["scenarios"]) for r in rows]
    return sorted(found, key=lambda similar: -similar.failures)


@dataclass
class DefectView:
    defect: Defect
    events: list[DefectEvent]
    occurrences: list[DefectOccurrence]
    organizations: list[str]
    entity_ids: list[tuple[str, str]]
    # The variants it failed in (`browser=webkit`): fails on webkit only, or everywhere.
    variants: list[str]
    # The reasons of its failures, each with how widely it struck: similar failures.
    reasons: list[SimilarFailures]
    shared_causes: list[SharedCause]
    runbook: RunbookVersion | None
    runbook_sections: list[LinkedSection]
    teams: list[Team]
    assignees: list[AbstractBaseUser]


def defect_view(defect: Defect) -> DefectView:
    occurrences = list(
        DefectOccurrence.objects.filter(defect=defect)
        .select_related("run", "run__suite", "failure", "result", "result__scenario")
        .order_by("-seen_at", "-id")[:OCCURRENCES_SHOWN]
    )
    variants = with_variants([defect], most=VARIANTS_SHOWN)[0].variants_failed
    organizations = sorted(
        {o.failure.organization_under_test for o in occurrences if o.failure} - {""}
    )
    entity_ids = sorted(
        {
            (str(name), str(value))
            for o in occurrences
            if o.failure
            for name, value in o.failure.key_entity_ids.items()
            if value is not None
        }
    )
    runbook = runbook_current(defect.project)
    members = Membership.objects.filter(
        project=defect.project, role__in=Membership.roles_at_least(Membership.Role.TRIAGER)
    ).select_related("user")
    return DefectView(
        defect=defect,
        events=list(defect.events.select_related("actor").order_by("created_at", "id")),
        occurrences=occurrences,
        organizations=organizations,
        entity_ids=entity_ids[:100],
        variants=variants,
        reasons=_similar_failures(defect),
        shared_causes=list(
            SharedCause.objects.filter(defects=defect)
            .select_related("run")
            .prefetch_related("defects__scenario", "defects__invariant")
        ),
        runbook=runbook,
        runbook_sections=sections_for_defect(defect, runbook),
        teams=list(Team.objects.filter(project=defect.project).order_by("name")),
        assignees=sorted((m.user for m in members), key=lambda user: user.get_username()),
    )


def defect_page(access: ProjectAccess, defect: Defect, *, page_url: str) -> dict[str, Any]:
    """What the defect page shows of the defect itself (its reruns are added by their area)."""
    return {
        "project": access.project,
        "defect": defect,
        "view": defect_view(defect),
        "report": defect_report(defect, page_url=page_url),
        "can_act": access.can_triage,
        "actions": action_forms(defect.state),
        "classes": Defect._meta.get_field("defect_class").choices,
        "now": timezone.now(),
    }


def settings_page(project: Project) -> dict[str, Any]:
    """What the settings page shows of teams, routing, runbook and notifications."""
    triage_settings, _ = TriageSettings.objects.get_or_create(project=project)
    version = runbook_current(project)
    return {
        "project": project,
        "teams": project.teams.prefetch_related("members").order_by("name"),
        "rules": RoutingRule.objects.filter(project=project).select_related("team"),
        "links": project.runbook_links.all(),
        "anchors": runbook_render(version)[1] if version else (),
        "runbook": version,
        "triage_settings": triage_settings,
        "has_github_token": bool(triage_settings.github_token_encrypted),
    }


@dataclass(frozen=True)
class IncidentResult:
    """One result an incident covers in a run, as its card lists it."""

    pk: int
    scenario_key: str
    variant: str
    status: str
    attempt: int


@dataclass
class IncidentInRun:
    incident: Defect
    results: list[IncidentResult]


@dataclass
class RunTriage:
    """What triage made of one run's failures: its incidents, and the defect of each result."""

    incidents: list[IncidentInRun]
    defect_of: dict[int, Defect]

    @property
    def incident_results(self) -> set[int]:
        """Results shown only inside their incident's card: those with no failure of their
        own outside it (one that also failed for another reason keeps its card)."""
        return {
            result.pk
            for item in self.incidents
            for result in item.results
            if result.pk not in self.defect_of
        }


def run_triage(run: Run) -> RunTriage:
    """A run's occurrences are read as plain values, a row each, and each defect once with
    its team, assignee and reason: a large run's hundreds of occurrences fall into a few
    dozen defects, which a join per occurrence built again and again."""
    occurrences = (
        DefectOccurrence.objects.filter(run=run)
        .order_by("defect_id", "result_id")
        .values_list(
            "defect_id", "defect__kind", "result_id", "result__scenario__key",
            "result__variant", "result__status", "result__attempt",
        )
    )  # fmt: skip
    defect_of_result: dict[int, int] = {}
    incident_results: dict[int, list[IncidentResult]] = {}
    for defect_id, kind, result_id, key, variant, status, attempt in occurrences:
        if kind == Defect.Kind.INCIDENT:
            incident_results.setdefault(defect_id, []).append(
                IncidentResult(result_id, key, variant, status, attempt)
            )
        else:
            defect_of_result.setdefault(result_id, defect_id)
    defects = Defect.objects.select_related("owner_team", "assignee", "reason").in_bulk(
        {*incident_results, *defect_of_result.values()}
    )
    # A defect deleted between the two reads (its project going) is left out, not an error.
    return RunTriage(
        incidents=[
            IncidentInRun(
                defects[defect_id],
                sorted(results, key=lambda r: (r.scenario_key, r.variant, r.attempt)),
            )
            for defect_id, results in incident_results.items()
            if defect_id in defects
        ],
        defect_of={
            result_id: defects[pk] for result_id, pk in defect_of_result.items() if pk in defects
        },
    )
