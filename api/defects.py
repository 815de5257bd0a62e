"""GET /api/v1/projects/<slug>/defects: the defects of a project, for release gates.

Its filters are the defect list page's: the same form reads them and the same selector
applies them; only their names in the query string are the API's own."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from api.auth import project_for_request
from api.errors import ApiError, method_not_allowed
from defects.forms import DefectFilterForm
from defects.models import Defect
from defects.selectors import defects_matching

# Query parameter -> the filter form's field.
FILTER_PARAMS = {
    "state": "state",
    "class": "defect_class",
    "owner": "team",
    "scenario": "scenario",
    "invariant": "invariant",
}


def _defect_json(request: HttpRequest, defect: Defect) -> dict[str, Any]:
    path = reverse("defect_detail", kwargs={"slug": defect.project.slug, "defect_id": defect.pk})
    return {
        "id": defect.pk,
        "kind": defect.kind,
        "scenarioId": defect.scenario_key or None,
        # How many scenarios the item covers: 1 for a defect, all it hit for an incident.
        "scenarioCount": defect.scenario_count,
        "reason": defect.reason.text if defect.reason_id else None,
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
    form = DefectFilterForm(
        {field: request.GET.get(param, "") for param, field in FILTER_PARAMS.items()},
        project=project,
    )
    if not form.is_valid():
        # A mistyped filter must not make a release gate pass on an empty list.
        param_of = {field: param for param, field in FILTER_PARAMS.items()}
        params = [param_of[field] for field in form.errors]
        codes = {error.code for errors in form.errors.as_data().values() for error in errors}
        problems = [
            {"field": param_of[field], "problem": " ".join(errors)}
            for field, errors in form.errors.items()
        ]
        word = "invalid" if "max_length" in codes else "unknown"
        return ApiError(400, f"{word} {', '.join(params)}", problems).response()
    defects = defects_matching(project, form.filters())
    rows = list(defects[: MAX_DEFECTS_LISTED + 1])
    return JsonResponse(
        {
            "count": min(len(rows), MAX_DEFECTS_LISTED),
            "truncated": len(rows) > MAX_DEFECTS_LISTED,
            "defects": [_defect_json(request, defect) for defect in rows[:MAX_DEFECTS_LISTED]],
        }
    )
