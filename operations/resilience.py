"""Answer 503 with Retry-After, not 500, while the database is unreachable (or the session
cache, for signing out); the connection health checks (CONN_HEALTH_CHECKS) reconnect by
themselves once it is back."""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from operations.sessions import SessionCacheUnavailable

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = (OperationalError, InterfaceError, SessionCacheUnavailable)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Outermost, around everything: sessions, authentication and the view all reach the
        # database, and whichever fails first, the answer is the same 503.
        try:
            return self.get_response(request)
        except UNAVAILABLE as exc:
            return self._unavailable(request, exc)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, UNAVAILABLE):
            return None
        return self._unavailable(request, exception)

    def _unavailable(self, request: HttpRequest, exception: Exception) -> HttpResponse:
        what = "session cache" if isinstance(exception, SessionCacheUnavailable) else "database"
        logger.warning("%s unavailable: %s", what, exception.__class__.__name__)
        message = f"the {what} is unavailable for a moment; retry shortly"
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"error": message}, status=503)
        else:
            response = HttpResponse(f"Triage: {message}.\n", status=503, content_type="text/plain")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
