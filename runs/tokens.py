"""Project tokens: CI's credential for posting reports. Shown once, stored as a SHA-256;
optionally each report is also signed (HMAC-SHA256 over timestamp and body)."""

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from runs.models import Project, ProjectToken
from runs.secrets import SecretUnreadable, secret_decrypt, secret_encrypt

TOKEN_PREFIX = "trg_"  # noqa: S105 - a recognisable prefix, not a secret
SIGNATURE_WINDOW_SECONDS = 300


def _token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()


def project_token_issue(*, project: Project) -> str:
    """Create a token for `project` and return it; this is the only time it is readable."""
    raw_token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ProjectToken.objects.create(
        project=project, token_hash=_token_hash(raw_token), hint=raw_token[:10]
    )
    return raw_token


@transaction.atomic
def project_token_rotate(*, project: Project, overlap: timedelta) -> str:
    """A new token; the live ones keep working for `overlap`, then stop."""
    ends = timezone.now() + overlap
    live = ProjectToken.objects.filter(project=project, revoked_at__isnull=True)
    live.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=ends)).update(expires_at=ends)
    return project_token_issue(project=project)


def project_tokens_revoke(*, project: Project) -> int:
    """Every token of the project stops working now."""
    return ProjectToken.objects.filter(project=project, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def project_for_token(raw_token: str) -> Project | None:
    """The project a live token belongs to, or None for an unknown, revoked or expired one.

    Tokens are found by the SHA-256 of what was presented, so response timing says nothing
    about how much of a guessed token was right.
    """
    token = (
        ProjectToken.objects.select_related("project")
        .filter(token_hash=_token_hash(raw_token), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    return token.project if token else None


def signing_secret_set(*, project: Project) -> str:
    """A new signing secret for the project, returned once."""
    secret = secrets.token_urlsafe(32)
    project.signing_secret_encrypted = secret_encrypt(secret)
    project.save(update_fields=["signing_secret_encrypted"])
    return secret


def signature_for(secret: str, timestamp: str, target: str, body: bytes) -> str:
    """HMAC-SHA256 over `<timestamp>.<path?query>.<body as sent>`: for JUnit the run id and
    suite travel in the query, so they are signed too."""
    message = timestamp.encode() + b"." + target.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_problem(
    project: Project,
    *,
    timestamp: str,
    signature: str,
    target: str,
    body: bytes,
    now: float | None = None,
) -> str | None:
    """None when the report is signed as the project requires, else what is wrong."""
    if not project.signing_secret_encrypted:
        return None
    try:
        secret = secret_decrypt(project.signing_secret_encrypted)
    except SecretUnreadable:
        # Refused, as an unsigned report would be; the operator issues a new signing secret.
        return "the server cannot read this project's signing secret; a new one must be issued"
    if not timestamp or not signature:
        return "this project requires X-Triage-Timestamp and X-Triage-Signature headers"
    try:
        sent = int(timestamp)
    except ValueError:
        return "X-Triage-Timestamp must be seconds since the epoch"
    # A captured request cannot be replayed later than the window allows.
    if abs((now or time.time()) - sent) > SIGNATURE_WINDOW_SECONDS:
        return f"the signature's timestamp is more than {SIGNATURE_WINDOW_SECONDS} s off"
    expected = signature_for(secret, timestamp, target, body).encode()
    given = signature.encode("utf-8", "replace")
    if not secret or not hmac.compare_digest(given, expected):
        return "the signature does not match the request"
    return None
