"""A run as CI sees it: the summary the webhook answers with, and
GET /api/v1/projects/<slug>/runs/<runId> to read it again later (a gate, a later job)."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from api.auth import project_for_request
from api.errors import ApiError, method_not_allowed
from runs.models import Run
from runs.parts import parts_received


def run_summary(request: HttpRequest, run: Run, *, created: bool) -> dict[str, Any]:
    path = reverse("run_detail", kwargs={"slug": run.project.slug, "run_id": run.pk})
    parts = parts_received(run)
    return {
        "id": run.pk,
        "url": request.build_absolute_uri(path),
        "runId": run.external_id,
        "created": created,
        "status": run.status,
        "counts": {
            "passed": run.passed_count,
            "failed": run.failed_count,
            "skipped": run.skipped_count,
            "error": run.error_count,
            "diagnosticsGaps": run.diagnostics_gap_count,
            "flaky": run.flaky_count,
        },
        "durationMs": run.duration_ms,
        # A run posted whole is one part of one.
        "parts": {"received": parts.received, "expected": parts.expected, "names": parts.names},
    }


@csrf_exempt
def run_read(request: HttpRequest, slug: str, external_id: str) -> JsonResponse:
    """GET /api/v1/projects/<slug>/runs/<runId>: the run's summary, by CI's own run id."""
    if request.method != "GET":
        return method_not_allowed("GET", "use GET to read a run")
    try:
        project = project_for_request(request, slug)
    except ApiError as exc:
        return exc.response()
    run = (
        Run.objects.filter(project=project, external_id=external_id)
        .select_related("project")
        .first()
    )
    if run is None:
        return ApiError(404, f"no run {external_id[:200]!r} in this project").response()
    return JsonResponse(run_summary(request, run, created=False))
