"""Encryption for secrets kept in the database (GitHub tokens, webhook and signing secrets).

The keys are FIELD_ENCRYPTION_KEYS: the first encrypts, each decrypts. A key derived from
SECRET_KEY decrypts last, and encrypts when no key is set: installs from before
FIELD_ENCRYPTION_KEYS existed keep reading what they stored until `rotate_secrets` moves it
under the first key."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret none of the current keys decrypts: a key was changed or removed.
    Callers stop rather than carry on without it (a webhook unsigned, a check skipped)."""


def _derived_key() -> bytes:
    digest = hashlib.sha256(f"triage-field-key:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _keys() -> MultiFernet:
    configured = [Fernet(key) for key in settings.FIELD_ENCRYPTION_KEYS]
    return MultiFernet([*configured, Fernet(_derived_key())])


def secret_encrypt(plain: str) -> str:
    return _keys().encrypt(plain.encode()).decode() if plain else ""


def secret_decrypt(stored: str) -> str:
    """The plain secret ("" when none is stored). Raises SecretUnreadable."""
    if not stored:
        return ""
    try:
        return _keys().decrypt(stored.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("cannot be read with the current encryption keys") from None


def secret_reencrypt(stored: str) -> str:
    """The stored secret encrypted again under the first key. Raises SecretUnreadable."""
    if not stored:
        return ""
    try:
        return _keys().rotate(stored.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("cannot be read with the current encryption keys") from None
