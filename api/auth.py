"""Who is calling: CI authenticates with its project's token, sent as a Bearer token."""

from django.http import HttpRequest

from api.errors import ApiError
from runs.models import Project
from runs.tokens import project_for_token


def project_for_request(request: HttpRequest, slug: str) -> Project:
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
