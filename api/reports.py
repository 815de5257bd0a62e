"""POST /api/v1/projects/<slug>/runs: CI sends a run report (JSON, or a test runner's XML).

The view authenticates, reads the body and hands the report to the one door for arrivals."""

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from api.auth import project_for_request
from api.errors import ApiError, method_not_allowed
from api.runs import run_summary
from operations.memory_budget import BudgetExhausted, memory_reserved
from operations.metrics import REPORTS
from reruns.arrivals import report_arrived
from runs.ingest import ReportConflict
from runs.models import Project, Run, RunPart
from runs.schema import ReportInvalid, RunReport, report_parse
from runs.tokens import signature_problem
from runs.xml_reports import xml_report

JSON_CONTENT_TYPES = {"application/json"}
XML_CONTENT_TYPES = {"application/xml", "text/xml"}
BUSY_RETRY_AFTER_SECONDS = 10


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


def _raw_body(request: HttpRequest, limit: int) -> bytes:
    """The body as sent, also when it came in chunks (no Content-Length): a server that
    de-chunks and ends the input (gunicorn says so in `wsgi.input_terminated`) lets it be read
    to its end; otherwise the client is told to say the length."""
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not chunked or request.META.get("CONTENT_LENGTH"):
        return request.body
    if not request.META.get("wsgi.input_terminated"):
        raise ApiError(411, "send the report with a Content-Length; chunked bodies are not read")
    body = request.META["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise ApiError(413, f"the report is larger than the limit of {limit} bytes")
    return body


def _report_body(request: HttpRequest) -> tuple[bytes, bytes]:
    """(the body as sent, the report in it, gunzipped when it came compressed)."""
    if request.content_type not in JSON_CONTENT_TYPES | XML_CONTENT_TYPES:
        raise ApiError(
            415,
            f"unsupported content type {request.content_type or '(none)'!r}; send the report "
            "as application/json, or JUnit, NUnit, xUnit or TRX XML as application/xml",
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
        raw = _raw_body(request, limit)
    except RequestDataTooBig:
        raise too_big from None
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding == "gzip":
        return raw, _gunzip(raw, limit)
    if encoding not in ("", "identity"):
        raise ApiError(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    return raw, raw


def _xml(request: HttpRequest, project: Project, body: bytes) -> RunReport:
    params = request.GET
    missing = [
        {"field": name, "problem": "this query parameter is required for XML reports"}
        for name in ("runId", "suite")
        if not params.get(name)
    ]
    if missing:
        raise ReportInvalid("missing query parameters", missing)
    # A file without a time the run can use gets the time of its first post, so the same file
    # sent again is the same report.
    stored = Run.objects.filter(project=project, external_id=params["runId"])
    this_part = RunPart.objects.filter(run__in=stored, name=params.get("part", ""))
    first_start = (
        this_part.values_list("started_at", flat=True).first()
        or stored.values_list("started_at", flat=True).first()
    )
    return xml_report(
        body,
        run={
            "id": params["runId"], "suite": params["suite"], "branch": params.get("branch"),
            "commit": params.get("commit"), "url": params.get("url"),
            "rerunOf": params.get("rerunOf"), "rerunToken": params.get("rerunToken"),
            "part": params.get("part"), "totalParts": params.get("totalParts"),
            "variant": _variant_param(params.getlist("variant")),
        },
        scenario_pattern=project.scenario_id_pattern,
        invariant_pattern=project.invariant_id_pattern,
        default_start=first_start,
        repeated_testcase=project.repeated_testcase,
    )  # fmt: skip


def _variant_param(values: list[str]) -> dict[str, str]:
    """`?variant=os=linux&variant=python=3.12` -> {"os": "linux", "python": "3.12"}."""
    variant = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals:
            raise ReportInvalid(
                "bad query parameter",
                [{"field": "variant", "problem": f"{value[:100]!r} is not of the form key=value"}],
            )
        variant[key.strip()] = text.strip()
    return variant


@contextmanager
def _memory_for(body: bytes, *, xml: bool) -> Iterator[None]:
    """Reading and storing the report waits for its share of the process's memory budget."""
    per_byte = settings.INGEST_XML_MEMORY_PER_BYTE if xml else settings.INGEST_MEMORY_PER_BYTE
    try:
        with memory_reserved(
            len(body) * per_byte,
            capacity=settings.INGEST_MEMORY_BUDGET_MB * 2**20,
            wait_seconds=settings.INGEST_BUDGET_WAIT_SECONDS,
        ):
            yield
    except BudgetExhausted:
        raise ApiError(
            503,
            "this server is busy storing other large reports; retry shortly",
            retry_after=BUSY_RETRY_AFTER_SECONDS,
        ) from None


@csrf_exempt
def run_report_receive(request: HttpRequest, slug: str) -> JsonResponse:
    """POST /api/v1/projects/<slug>/runs: store one run report, exactly once."""
    if request.method != "POST":
        return method_not_allowed("POST", "use POST to send a run report")
    received_at = time.perf_counter()
    try:
        project = project_for_request(request, slug)
        raw, body = _report_body(request)
        problem = signature_problem(
            project,
            timestamp=request.headers.get("X-Triage-Timestamp", ""),
            signature=request.headers.get("X-Triage-Signature", ""),
            target=request.get_full_path(),
            body=raw,
        )
        if problem:
            raise ApiError(401, problem)
        xml = request.content_type in XML_CONTENT_TYPES
        with _memory_for(body, xml=xml):
            report = _xml(request, project, body) if xml else report_parse(body)
            outcome = report_arrived(
                project=project, report=report, received_at=received_at, answer_first=True
            )
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
    return JsonResponse(
        run_summary(request, outcome.run, created=outcome.created),
        status=201 if outcome.created else 200,
    )
