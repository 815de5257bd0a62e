"""Project tokens: CI's credential for posting reports. Shown once, stored as a SHA-256."""

import hashlib
import secrets

from runs.models import Project, ProjectToken

TOKEN_PREFIX = "trg_"  # noqa: S105 - a recognisable prefix, not a secret


def _token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()


def project_token_issue(*, project: Project) -> str:
    """Create a token for `project` and return it; this is the only time it is readable."""
    raw_token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ProjectToken.objects.create(
        project=project, token_hash=_token_hash(raw_token), hint=raw_token[:10]
    )
    return raw_token


def project_for_token(raw_token: str) -> Project | None:
    """The project a live token belongs to, or None for an unknown or revoked token.

    The lookup is by a hash of the token, so response timing says nothing about
    how much of a guessed token was right.
    """
    token = (
        ProjectToken.objects.select_related("project")
        .filter(token_hash=_token_hash(raw_token), revoked_at__isnull=True)
        .first()
    )
    return token.project if token else None
