"""The rerun dispatcher a project admin sets up."""

import re

from django import forms
from django.conf import settings

from operations.outbound import typed_destination
from reruns.models import Dispatcher


class DispatcherForm(forms.ModelForm):
    github_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again; leave empty to keep the current one.",
    )
    webhook_url = forms.URLField(required=False, assume_scheme="https")
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs each request (X-Triage-Signature: sha256=...); never shown again.",
    )
    command_name = forms.ChoiceField(required=False)

    class Meta:
        model = Dispatcher
        fields = [
            "kind", "github_repository", "github_workflow", "github_token_env", "webhook_url",
            "command_name", "max_concurrent", "timeout_minutes",
        ]  # fmt: skip

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["command_name"].choices = [("", "—")] + [
            (name, name) for name in sorted(settings.RERUN_COMMANDS)
        ]
        self.mark_kinds()

    def clean_github_repository(self) -> str:
        value = self.cleaned_data["github_repository"].strip()
        if value and not re.fullmatch(r"[\w.-]+/[\w.-]+", value):
            raise forms.ValidationError("write it as owner/name")
        return value

    def clean_webhook_url(self) -> str:
        return typed_destination(self.cleaned_data.get("webhook_url") or "")

    def clean_github_token_env(self) -> str:
        value = self.cleaned_data["github_token_env"].strip()
        if value and value not in settings.RERUN_GITHUB_TOKEN_ENVS:
            raise forms.ValidationError(
                "the server does not offer that variable (RERUN_GITHUB_TOKEN_ENVS)"
            )
        return value

    def clean_github_workflow(self) -> str:
        value = self.cleaned_data["github_workflow"].strip()
        if value and not re.fullmatch(r"[\w.-]+", value):
            raise forms.ValidationError("a workflow file name such as rerun.yml, or its id")
        return value

    # The fields each kind needs; the page shows only the chosen kind's.
    KIND_FIELDS = {
        Dispatcher.Kind.GITHUB: (
            "github_repository", "github_workflow", "github_token_env", "github_token",
        ),
        Dispatcher.Kind.WEBHOOK: ("webhook_url", "webhook_secret"),
        Dispatcher.Kind.COMMAND: ("command_name",),
    }  # fmt: skip
    REQUIRED = {
        Dispatcher.Kind.GITHUB: ("github_repository", "github_workflow"),
        Dispatcher.Kind.WEBHOOK: ("webhook_url",),
        Dispatcher.Kind.COMMAND: ("command_name",),
    }

    def mark_kinds(self) -> None:
        for kind, names in self.KIND_FIELDS.items():
            for name in names:
                self.fields[name].widget.attrs["data-for-kind"] = kind

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        for name in self.REQUIRED.get(kind, ()):
            if not cleaned.get(name):
                label = self.fields[name].label or name.replace("_", " ")
                self.add_error(name, f"{label} is needed for this kind of dispatcher")
        return cleaned
