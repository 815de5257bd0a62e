"""Headers and login throttling that Django does not set on its own."""

import hashlib
import logging
import threading
import time
import unicodedata
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

# Only our own files: no inline script or style, no other origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class _LocalCounts:
    """Failed logins counted in this process while the shared cache is down: people can still
    sign in, and guessing is still throttled (per process, so at most a few times the limit)."""

    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _count(self, key: str) -> int:
        count, until = self._counts.get(key, (0, 0.0))
        return count if until > time.monotonic() else 0

    def get(self, key: str) -> int:
        with self._lock:
            return self._count(key)

    def add(self, key: str) -> None:
        with self._lock:
            if len(self._counts) >= self.MAX_KEYS:
                self._counts.clear()  # a flood of names must not grow memory without end
            count = self._count(key) + 1
            self._counts[key] = (count, time.monotonic() + settings.LOGIN_LOCKOUT_SECONDS)

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


_local = _LocalCounts()


def _failures(key: str) -> int:
    try:
        shared = int(cache.get(key, 0))
    except Exception:
        logger.warning("login throttling counts in-process: the cache is unavailable")
        shared = 0
    return max(shared, _local.get(key))


def client_address(request: HttpRequest) -> str:
    """The client's address, read past TRUSTED_PROXY_COUNT proxies of our own."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")


def _throttle_key(request: HttpRequest) -> str:
    # Normalised the way the login form reads names, so "dana", "Dana " and the fullwidth
    # spelling share one counter; hashed, so any name makes a valid cache key.
    name = unicodedata.normalize("NFKC", request.POST.get("username") or "").strip().casefold()
    digest = hashlib.sha256(f"{client_address(request)}|{name}".encode()).hexdigest()
    return f"login-failures:{digest}"


class ThrottledLoginView(auth_views.LoginView):
    """After LOGIN_FAILURE_LIMIT failed attempts for one name from one address, refuse
    further attempts for LOGIN_LOCKOUT_SECONDS, right or wrong password."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        key = _throttle_key(request)
        if _failures(key) >= settings.LOGIN_FAILURE_LIMIT:
            response = self.render_to_response(
                self.get_context_data(form=self.get_form(), throttled=True), status=429
            )
            response["Retry-After"] = str(settings.LOGIN_LOCKOUT_SECONDS)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: object) -> HttpResponse:
        key = _throttle_key(self.request)
        try:
            cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
        except Exception:
            logger.warning("login throttling counts in-process: the cache is unavailable")
            _local.add(key)
        return super().form_invalid(form)

    def form_valid(self, form: object) -> HttpResponse:
        key = _throttle_key(self.request)
        _local.clear(key)
        try:
            cache.delete(key)
        except Exception:
            logger.warning("login throttling counts in-process: the cache is unavailable")
        return super().form_valid(form)
