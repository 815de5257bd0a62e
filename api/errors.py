"""Errors the API answers with: a status and a JSON body naming the field and the problem."""

from typing import Any

from django.http import JsonResponse


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        problems: list[dict[str, str]] | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.problems = problems or []
        self.retry_after = retry_after

    def response(self) -> JsonResponse:
        body: dict[str, Any] = {"error": self.error}
        if self.problems:
            body["problems"] = self.problems
        response = JsonResponse(body, status=self.status)
        if self.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="triage"'
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


def method_not_allowed(allowed: str, error: str) -> JsonResponse:
    response = JsonResponse({"error": error}, status=405)
    response["Allow"] = allowed
    return response
