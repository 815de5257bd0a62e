"""The HTTP API CI talks to. Views authenticate, read the body and hand over to services.

This module knows both layers: a stored run is handed on to the triage workflow here."""

import json
import logging
import re
import time
import zlib
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from runs.ingest import ReportConflict, run_ingest
from runs.junit import junit_report
from runs.models import Project, Run
from runs.schema import ReportInvalid, RunReport, report_parse
from runs.tokens import project_for_token, signature_problem
from triage.defects import defects_record_run
from triage.metrics import INGEST_SECONDS, REPORTS
from triage.models import Defect, DefectClass, Rerun, Team
from triage.reruns import rerun_status_update, reruns_attach_report

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPES = {"application/json"}


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, problems: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.problems = problems or []

    def response(self) -> JsonResponse:
        body: dict[str, Any] = {"error": self.error}
        if self.problems:
            body["problems"] = self.problems
        response = JsonResponse(body, status=self.status)
        if self.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="triage"'
        return response


def _authenticated_project(request: HttpRequest, slug: str) -> Project:
    scheme, _, raw_token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw_token.strip():
        raise ApiError(401, "missing project token: send 'Authorization: Bearer <token>'")
    project = project_for_token(raw_token.strip())
    if project is None:
        raise ApiError(401, "the project token is not valid")
    if project.slug != slug:
        # Same answer as for a project that does not exist: a token says nothing of others.
        raise ApiError(404, f"no project {slug!r}")
    return project


XML_CONTENT_TYPES = {"application/xml", "text/xml"}
GZIP_CHUNK = 64 * 1024


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress at most `limit` bytes: a zip bomb is refused long before it fills memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    try:
        out += inflater.decompress(body, limit + 1)
        while inflater.unconsumed_tail and len(out) <= limit:
            out += inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out))
        if len(out) <= limit:
            out += inflater.flush()
    except zlib.error as exc:
        raise ApiError(400, f"the gzip body is broken: {exc}") from None
    if len(out) > limit:
        raise ApiError(413, f"the report is larger than the limit of {limit} bytes uncompressed")
    return bytes(out)


def _report_body(request: HttpRequest) -> bytes:
    if request.content_type not in JSON_CONTENT_TYPES | XML_CONTENT_TYPES:
        raise ApiError(
            415,
            f"unsupported content type {request.content_type or '(none)'!r}; send the report "
            "as application/json, or JUnit XML as application/xml",
        )
    limit = settings.REPORT_MAX_BYTES
    too_big = ApiError(413, f"the report is larger than the limit of {limit} bytes")
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        raise ApiError(400, "Content-Length is not a number") from None
    if declared > limit:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding == "gzip":
        return _gunzip(body, limit)
    if encoding not in ("", "identity"):
        raise ApiError(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    return body


def _junit(request: HttpRequest, project: Project, body: bytes) -> RunReport:
    params = request.GET
    missing = [
        {"field": name, "problem": "this query parameter is required for JUnit XML"}
        for name in ("runId", "suite")
        if not params.get(name)
    ]
    if missing:
        raise ReportInvalid("missing query parameters", missing)
    first_start = (
        Run.objects.filter(project=project, external_id=params["runId"])
        .values_list("started_at", flat=True)
        .first()
    )
    return junit_report(
        body,
        run={
            "id": params["runId"], "suite": params["suite"], "branch": params.get("branch"),
            "commit": params.get("commit"), "url": params.get("url"),
            "rerunOf": params.get("rerunOf"), "rerunToken": params.get("rerunToken"),
        },
        scenario_pattern=project.scenario_id_pattern,
        invariant_pattern=project.invariant_id_pattern,
        default_start=first_start,
    )  # fmt: skip


def _run_summary(request: HttpRequest, run: Run, *, created: bool) -> dict[str, Any]:
    path = reverse("run_detail", kwargs={"slug": run.project.slug, "run_id": run.pk})
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
        },
        "durationMs": run.duration_ms,
    }


@csrf_exempt
def run_report_receive(request: HttpRequest, slug: str) -> JsonResponse:
    """POST /api/v1/projects/<slug>/runs: store one run report, exactly once."""
    if request.method != "POST":
        response = JsonResponse({"error": "use POST to send a run report"}, status=405)
        response["Allow"] = "POST"
        return response
    started = time.perf_counter()
    try:
        project = _authenticated_project(request, slug)
        body = _report_body(request)
        problem = signature_problem(
            project,
            timestamp=request.headers.get("X-Triage-Timestamp", ""),
            signature=request.headers.get("X-Triage-Signature", ""),
            target=request.get_full_path(),
            body=request.body,
        )
        if problem:
            raise ApiError(401, problem)
        if request.content_type in XML_CONTENT_TYPES:
            report = _junit(request, project, body)
        else:
            report = report_parse(body)
        outcome = run_ingest(project=project, report=report)
    except ApiError as exc:
        REPORTS.labels("refused", str(exc.status)).inc()
        return exc.response()
    except ReportInvalid as exc:
        REPORTS.labels("refused", exc.error).inc()
        return ApiError(400, exc.error, exc.problems).response()
    except ReportConflict as exc:
        REPORTS.labels("refused", "conflict").inc()
        return ApiError(409, str(exc)).response()
    REPORTS.labels("accepted" if outcome.created else "replayed", "").inc()
    if outcome.created:
        INGEST_SECONDS.observe(time.perf_counter() - started)
        # Each step on its own: the run is stored, and the sweep catches up on what fails.
        try:
            defects_record_run(run=outcome.run)
        except Exception:
            logger.exception("grouping the failures of run %s failed", outcome.run.pk)
        try:
            reruns_attach_report(run=outcome.run)
        except Exception:
            logger.exception("attaching run %s to its rerun failed", outcome.run.pk)
    return JsonResponse(
        _run_summary(request, outcome.run, created=outcome.created),
        status=201 if outcome.created else 200,
    )


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
        response = JsonResponse({"error": "use GET to list defects"}, status=405)
        response["Allow"] = "GET"
        return response
    try:
        project = _authenticated_project(request, slug)
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


@csrf_exempt
def rerun_status(request: HttpRequest, token: str) -> JsonResponse:
    """POST /api/v1/reruns/<token>/status {"state": "running", "url": ...}: CI's callback.

    The rerun token, passed to CI with the dispatch, is the credential."""
    if request.method != "POST":
        response = JsonResponse({"error": "use POST"}, status=405)
        response["Allow"] = "POST"
        return response
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
