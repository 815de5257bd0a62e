"""Headers and login throttling that Django does not set on its own."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

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


def _throttle_key(request: HttpRequest) -> str:
    username = (request.POST.get("username") or "").lower()[:150]
    return f"login-failures:{request.META.get('REMOTE_ADDR', '')}:{username}"


class ThrottledLoginView(auth_views.LoginView):
    """After LOGIN_FAILURE_LIMIT failed attempts for one name from one address, refuse
    further attempts for LOGIN_LOCKOUT_SECONDS, right or wrong password."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        key = _throttle_key(request)
        if cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT:
            response = self.render_to_response(
                self.get_context_data(form=self.get_form(), throttled=True), status=429
            )
            response["Retry-After"] = str(settings.LOGIN_LOCKOUT_SECONDS)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: object) -> HttpResponse:
        key = _throttle_key(self.request)
        cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
        return super().form_invalid(form)

    def form_valid(self, form: object) -> HttpResponse:
        cache.delete(_throttle_key(self.request))
        return super().form_valid(form)
