"""`rotate_secrets`: every stored secret moves under the first of FIELD_ENCRYPTION_KEYS, so the
old key can go."""

import io

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import CommandError, call_command

from defects.models import TriageSettings
from reruns.management.commands.rotate_secrets import ENCRYPTED_FIELDS
from reruns.models import Dispatcher
from runs.models import Project
from runs.secrets import SecretUnreadable, secret_decrypt, secret_encrypt
from runs.tokens import signing_secret_set
from tests.builders import a_project

pytestmark = pytest.mark.django_db


def a_key() -> str:
    return Fernet.generate_key().decode()


def a_dispatcher(project: Project, **secrets: str) -> Dispatcher:
    return Dispatcher.objects.create(
        project=project, kind="webhook", webhook_url="https://ci.example.test/hook",
        **{f"{name}_encrypted": secret_encrypt(plain) for name, plain in secrets.items()},
    )  # fmt: skip


def stored_secrets(project: Project) -> list[str]:
    project.refresh_from_db()
    dispatcher = Dispatcher.objects.get(project=project)
    return [project.signing_secret_encrypted, dispatcher.github_token_encrypted,
            dispatcher.webhook_secret_encrypted,
            TriageSettings.objects.get(project=project).github_token_encrypted]  # fmt: skip


def test_after_rotation_the_new_key_alone_reads_every_secret(settings):
    old, new = a_key(), a_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    project, _ = a_project()
    signing = signing_secret_set(project=project)
    a_dispatcher(project, github_token="ghp-dispatch", webhook_secret="s3cret")
    TriageSettings.objects.create(project=project, github_token_encrypted=secret_encrypt("ghp-x"))
    plain = [signing, "ghp-dispatch", "s3cret", "ghp-x"]

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert [secret_decrypt(each) for each in stored_secrets(project)] == plain
    out = io.StringIO()
    call_command("rotate_secrets", stdout=out)

    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert [secret_decrypt(each) for each in stored_secrets(project)] == plain
    assert "reruns.Dispatcher.webhook_secret_encrypted: 1 re-encrypted, 0 unreadable" in (
        out.getvalue()
    )
    assert out.getvalue().strip().endswith("Re-encrypted 4 stored secret(s) under the first key.")


def test_without_rotation_the_new_key_alone_reads_nothing(settings):
    old, new = a_key(), a_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    stored = secret_encrypt("s3cret")
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(SecretUnreadable):
        secret_decrypt(stored)


def test_a_secret_no_key_reads_is_named_and_left_while_the_others_move(settings):
    lost, old, new = a_key(), a_key(), a_key()
    project, _ = a_project()
    settings.FIELD_ENCRYPTION_KEYS = [lost]
    unreadable = a_dispatcher(project, webhook_secret="s3cret")
    settings.FIELD_ENCRYPTION_KEYS = [old]
    TriageSettings.objects.create(project=project, github_token_encrypted=secret_encrypt("ghp-x"))

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    with pytest.raises(CommandError, match=f"reruns.Dispatcher.webhook_secret_encrypted of id "
                                           f"{unreadable.pk}"):  # fmt: skip
        call_command("rotate_secrets", stdout=io.StringIO())

    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert secret_decrypt(TriageSettings.objects.get().github_token_encrypted) == "ghp-x"
    after = Dispatcher.objects.get().webhook_secret_encrypted
    assert after == unreadable.webhook_secret_encrypted


def test_every_encrypted_column_is_rotated():
    columns = {
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.name.endswith("_encrypted")
    }
    assert columns == set(ENCRYPTED_FIELDS)
