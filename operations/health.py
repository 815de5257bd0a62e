"""`/healthz`: whether the database and the task broker answer and a worker consumes, for
load balancers."""

from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from operations.heartbeat import heartbeat_problem


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database: {exc.__class__.__name__}"
    return None


def _broker_ok() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # embedded mode: tasks run in-process, there is no broker to check
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker: {exc.__class__.__name__}"
    return None


def _worker_ok() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # embedded mode: no worker process to wait for
    return heartbeat_problem()


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    problems = [problem for problem in (_database_ok(), _broker_ok(), _worker_ok()) if problem]
    return JsonResponse(
        {"status": "ok" if not problems else "unhealthy", "problems": problems},
        status=200 if not problems else 503,
    )
