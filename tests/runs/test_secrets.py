"""Stored secrets: their own keys (the first encrypts, each decrypts), readable after an
upgrade, and never silently empty when no key reads them. No key in the source."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from runs.secrets import SecretUnreadable, secret_decrypt, secret_encrypt
from runs.tokens import signature_for, signing_secret_set
from tests.builders import a_project, a_report, report_bytes

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def a_key() -> str:
    return Fernet.generate_key().decode()


def test_the_first_key_encrypts_and_every_key_decrypts(settings):
    old, new = a_key(), a_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    under_old = secret_encrypt("s3cret")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    under_new = secret_encrypt("s3cret")
    assert secret_decrypt(under_old) == secret_decrypt(under_new) == "s3cret"
    assert Fernet(new).decrypt(under_new.encode()) == b"s3cret"


def test_secrets_stored_before_the_keys_were_set_stay_readable(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    stored_then = secret_encrypt("s3cret")
    settings.FIELD_ENCRYPTION_KEYS = [a_key()]
    assert secret_decrypt(stored_then) == "s3cret"


def test_a_secret_no_key_reads_raises_instead_of_reading_empty(settings):
    settings.FIELD_ENCRYPTION_KEYS = [a_key()]
    stored = secret_encrypt("s3cret")
    settings.FIELD_ENCRYPTION_KEYS = [a_key()]
    with pytest.raises(SecretUnreadable):
        secret_decrypt(stored)
    assert secret_decrypt("") == ""


def test_a_signing_secret_no_key_reads_refuses_even_a_signed_report(client, settings):
    project, token = a_project()
    settings.FIELD_ENCRYPTION_KEYS = [a_key()]
    secret = signing_secret_set(project=project)
    settings.FIELD_ENCRYPTION_KEYS = [a_key()]
    url, body = "/api/v1/projects/dispatch/runs", report_bytes(a_report("r-1"))
    now = str(int(time.time()))
    answer = client.post(url, body, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TRIAGE_TIMESTAMP=now,
                         HTTP_X_TRIAGE_SIGNATURE=signature_for(secret, now, url, body))  # fmt: skip
    assert answer.status_code == 401
    assert "cannot read this project's signing secret" in answer.json()["error"]


def settings_process(**env: str) -> subprocess.CompletedProcess:
    """Django set up in a process of its own, with these settings in its environment."""
    names = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEY")
    environ = {k: v for k, v in os.environ.items() if k not in names}
    environ.update(DJANGO_SETTINGS_MODULE="triage.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.FIELD_ENCRYPTION_KEYS)"],
        env=environ, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip


def test_no_secret_key_means_no_start_even_in_development():
    started = settings_process(DEBUG="true")
    assert started.returncode != 0
    assert "SECRET_KEY is not set" in started.stderr


def test_encryption_keys_are_checked_when_the_server_starts():
    first, second = a_key(), a_key()
    older_name = settings_process(SECRET_KEY="k", FIELD_ENCRYPTION_KEY=f"{first},{second}")
    assert older_name.stdout.strip() == repr([first, second])
    mistyped = settings_process(SECRET_KEY="k", FIELD_ENCRYPTION_KEYS=f"{first},not-a-key")
    assert mistyped.returncode != 0
    assert "key 2 of FIELD_ENCRYPTION_KEYS is not a Fernet key" in mistyped.stderr
    assert "not-a-key" not in mistyped.stderr  # a key, even a wrong one, is never shown
