"""A project's escalation, notification and GitHub settings, as its admins save them."""

from defects.models import TriageSettings
from runs.secrets import secret_encrypt


def triage_settings_save(*, triage_settings: TriageSettings, github_token: str) -> TriageSettings:
    """Save the settings as filled in; a new GitHub token is stored encrypted, and an empty
    one keeps the token stored before."""
    if github_token:
        triage_settings.github_token_encrypted = secret_encrypt(github_token)
    triage_settings.save()
    return triage_settings
