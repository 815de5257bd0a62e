"""POST /api/v1/reruns/<token>/status: CI reports how a rerun it was sent is going."""

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api.errors import ApiError, method_not_allowed
from reruns.models import Rerun
from reruns.outcomes import rerun_status_update


@csrf_exempt
def rerun_status(request: HttpRequest, token: str) -> JsonResponse:
    """POST /api/v1/reruns/<token>/status {"state": "running", "url": ...}: CI's callback.

    The rerun token, passed to CI with the dispatch, is the credential."""
    if request.method != "POST":
        return method_not_allowed("POST", "use POST")
    rerun = Rerun.objects.filter(token=token).select_related("defect").first()
    if rerun is None:
        return ApiError(404, "no such rerun").response()
    try:
        payload = json.loads(request.body or b"{}")
        state = str(payload.get("state", ""))
        ci_url = str(payload.get("url", "") or "")
    except (ValueError, AttributeError):
        return ApiError(
            400, "malformed JSON", [{"field": "report", "problem": "not a JSON object"}]
        ).response()
    if state not in ("running", "error", "cancelled"):
        return ApiError(
            400, "unknown state", [{"field": "state", "problem": "running, error or cancelled"}]
        ).response()
    changed = rerun_status_update(rerun=rerun, state=state, ci_url=ci_url)
    rerun.refresh_from_db()
    return JsonResponse({"id": rerun.pk, "state": rerun.state, "changed": changed})
