"""GET /api/v1/projects/<slug>/defects: the defects of a project, for release gates."""

import re
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from api.auth import project_for_request
from api.errors import ApiError, method_not_allowed
from defects.models import Defect, DefectClass, Team

_REGEX_SPECIAL = re.compile(r"([.^$+?()\[\]{}|\\])")


def _wildcard(pattern: str) -> str:
    """`TENANT-*` -> an anchored, case-insensitive regular expression with only `*` special."""
    return "^" + _REGEX_SPECIAL.sub(r"\\\1", pattern).replace("*", ".*") + "$"


def _defect_json(request: HttpRequest, defect: Defect) -> dict[str, Any]:
    path = reverse("defect_detail", kwargs={"slug": defect.project.slug, "defect_id": defect.pk})
    return {
        "id": defect.pk,
        "scenarioId": defect.scenario.key,
        "invariantId": defect.invariant_key or None,
        "state": defect.state,
        "class": defect.defect_class,
        "suggestedClass": defect.suggested_class or None,
        "ownerTeam": defect.owner_team.name if defect.owner_team_id else None,
        "assignee": defect.assignee.get_username() if defect.assignee_id else None,
        "firstSeen": defect.first_seen.isoformat(),
        "lastSeen": defect.last_seen.isoformat(),
        "occurrences": defect.occurrence_count,
        "url": request.build_absolute_uri(path),
    }


MAX_DEFECTS_LISTED = 5000


@csrf_exempt
def defects_list(request: HttpRequest, slug: str) -> JsonResponse:
    """GET /api/v1/projects/<slug>/defects?state=open&invariant=TENANT-*: a release gate's input."""
    if request.method != "GET":
        return method_not_allowed("GET", "use GET to list defects")
    try:
        project = project_for_request(request, slug)
    except ApiError as exc:
        return exc.response()
    defects = Defect.objects.filter(project=project).select_related(
        "project", "scenario", "invariant", "owner_team", "assignee"
    )
    states = [s for s in request.GET.get("state", "").split(",") if s]
    if states:
        expanded = set()
        for state in states:
            expanded |= set(Defect.OPEN_STATES) if state == "open" else {state}
        unknown = expanded - set(Defect.State.values)
        if unknown:
            return ApiError(
                400, "unknown state", [{"field": "state", "problem": f"{sorted(unknown)}"}]
            ).response()
        defects = defects.filter(state__in=expanded)
    if request.GET.get("class"):
        if request.GET["class"] not in DefectClass.values:
            return ApiError(
                400,
                "unknown class",
                [{"field": "class", "problem": f"one of {DefectClass.values}"}],
            ).response()
        defects = defects.filter(defect_class=request.GET["class"])
    if request.GET.get("owner"):
        # A mistyped team must not make a release gate pass on an empty list.
        if not Team.objects.filter(project=project, name=request.GET["owner"]).exists():
            return ApiError(
                400, "unknown owner", [{"field": "owner", "problem": "no team of that name"}]
            ).response()
        defects = defects.filter(owner_team__name=request.GET["owner"])
    if request.GET.get("scenario"):
        defects = defects.filter(scenario__key__iregex=_wildcard(request.GET["scenario"]))
    if request.GET.get("invariant"):
        defects = defects.filter(invariant__key__iregex=_wildcard(request.GET["invariant"]))
    rows = list(defects.order_by("-last_seen", "-pk")[: MAX_DEFECTS_LISTED + 1])
    return JsonResponse(
        {
            "count": min(len(rows), MAX_DEFECTS_LISTED),
            "truncated": len(rows) > MAX_DEFECTS_LISTED,
            "defects": [_defect_json(request, defect) for defect in rows[:MAX_DEFECTS_LISTED]],
        }
    )
