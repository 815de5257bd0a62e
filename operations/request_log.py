"""One structured log line per request and per Celery task."""

import logging
import time
from collections.abc import Callable

from celery.signals import task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse

from operations.redaction import redacted

request_logger = logging.getLogger("triage.request")
task_logger = logging.getLogger("triage.task")
_task_started: dict[str, float] = {}


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        # Only a user already loaded: reading request.user here could hit the database again.
        user = getattr(request, "_cached_user", None)
        path = redacted(request.path)
        request_logger.info(
            "%s %s %s",
            request.method,
            path,
            response.status_code,
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user": user.get_username() if user and user.is_authenticated else None,
                "htmx": request.headers.get("HX-Request") == "true",
            },
        )
        return response


@task_prerun.connect
def _task_started_at(task_id: str | None = None, **_: object) -> None:
    if task_id:
        _task_started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_done(
    task_id: str | None = None, task: object = None, state: str | None = None, **_: object
) -> None:
    started = _task_started.pop(task_id or "", None)
    task_logger.info(
        "task %s %s",
        getattr(task, "name", "?"),
        state,
        extra={
            "task": getattr(task, "name", None),
            "task_id": task_id,
            "state": state,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        },
    )
