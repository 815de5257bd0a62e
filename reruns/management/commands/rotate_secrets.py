"""Re-encrypt every stored secret under the first of FIELD_ENCRYPTION_KEYS.

It lives in reruns, the highest area holding secrets, because it reads the tables of runs,
defects and reruns; the encryption itself stays in runs.secrets."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction

from defects.models import TriageSettings
from reruns.models import Dispatcher
from runs.models import Project
from runs.secrets import SecretUnreadable, secret_reencrypt

# Every column that holds a runs.secrets value; a test keeps this list complete.
ENCRYPTED_FIELDS: tuple[tuple[type[models.Model], str], ...] = (
    (Project, "signing_secret_encrypted"),
    (TriageSettings, "github_token_encrypted"),
    (Dispatcher, "github_token_encrypted"),
    (Dispatcher, "webhook_secret_encrypted"),
)


def _reencrypt_column(model: type[models.Model], field: str) -> tuple[int, list[int]]:
    """(rows re-encrypted, ids of rows no key reads); those are left as they are."""
    rotated, unreadable = 0, []
    # Locked: an admin saving a new secret meanwhile must not be overwritten with the old one.
    rows = model.objects.select_for_update().exclude(**{field: ""}).values_list("pk", field)
    for pk, stored in rows:
        try:
            fresh = secret_reencrypt(stored)
        except SecretUnreadable:
            unreadable.append(pk)
            continue
        model.objects.filter(pk=pk).update(**{field: fresh})
        rotated += 1
    return rotated, unreadable


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (GitHub tokens, webhook and signing secrets) under the "
        "first key of FIELD_ENCRYPTION_KEYS, in one transaction. Run it after putting a new key "
        "first; the old key can go once it has run."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.FIELD_ENCRYPTION_KEYS:
            self.stdout.write(
                "FIELD_ENCRYPTION_KEYS is not set: secrets stay under the key derived from "
                "SECRET_KEY."
            )
        total, problems = 0, []
        with transaction.atomic():
            for model, field in ENCRYPTED_FIELDS:
                rotated, unreadable = _reencrypt_column(model, field)
                name = f"{model._meta.label}.{field}"
                self.stdout.write(f"{name}: {rotated} re-encrypted, {len(unreadable)} unreadable")
                total += rotated
                problems += [f"{name} of id {pk}" for pk in unreadable]
        self.stdout.write(f"Re-encrypted {total} stored secret(s) under the first key.")
        if problems:
            raise CommandError(
                f"{len(problems)} stored secret(s) cannot be read with any current key and were "
                f"left as they are; enter them again in the settings: {', '.join(problems)}"
            )
