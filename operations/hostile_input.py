"""Addresses no page or API can use are refused at the door: a control character (NUL above
all, which PostgreSQL refuses in any text) in the path or a query value, or an address longer
than any link Triage makes. A clear 4xx, before a view or the database sees the value."""

import json
import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# C0 controls but tab, and DEL; a browser never sends them in a link it was given.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
MAX_PATH = 2048
MAX_QUERY = 8192


def _refusal(request: HttpRequest, status: int, problem: str, field: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = {"error": problem, "problems": [{"field": field, "problem": problem}]}
        return HttpResponse(json.dumps(body), status=status, content_type="application/json")
    return HttpResponse(f"{problem}\n", status=status, content_type="text/plain; charset=utf-8")


class HostileInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if len(request.path) > MAX_PATH:
            return _refusal(request, 414, "the address is too long", "path")
        if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY:
            return _refusal(request, 414, "the query is too long", "query")
        if CONTROL.search(request.path):
            return _refusal(request, 400, "the address holds a control character", "path")
        for name, values in request.GET.lists():
            if CONTROL.search(name) or any(CONTROL.search(value) for value in values):
                return _refusal(request, 400, "a query value holds a control character", name[:100])
        return self.get_response(request)
