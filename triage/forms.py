import re

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from runs.models import Project
from triage.actions import ACTIONS
from triage.models import DefectClass, Dispatcher, RunbookLink, Team, TriageSettings
from triage.outbound import OutboundRefused, check_destination
from triage.selectors import STATE_FILTERS


def _allowed_url(url: str) -> str:
    """Refuse, when it is typed in, a URL the server would refuse to call later."""
    if url:
        try:
            check_destination(url)
        except OutboundRefused as exc:
            raise forms.ValidationError(str(exc)) from None
    return url


class DefectActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    version = forms.IntegerField(min_value=1, required=False)
    defect_class = forms.ChoiceField(choices=DefectClass.choices, required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)
    reason = forms.CharField(max_length=500, required=False)
    until = forms.DateTimeField(required=False)
    text = forms.CharField(max_length=10_000, required=False)

    def __init__(self, *args: object, project: Project, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(project=project)
        self.fields["assignee"].queryset = get_user_model().objects.filter(
            memberships__project=project
        )


class DefectFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[(s, s) for s in STATE_FILTERS], required=False)
    defect_class = forms.ChoiceField(
        choices=[("", "any class"), *DefectClass.choices], required=False
    )
    team = forms.CharField(required=False, max_length=100)
    q = forms.CharField(required=False, max_length=200)

    def filters(self) -> dict[str, str]:
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v}


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    members = forms.CharField(
        required=False, help_text="Usernames, separated by spaces or commas", max_length=2000
    )


class RuleForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    defect_class = forms.ChoiceField(choices=[("", "any class"), *DefectClass.choices],
                                     required=False)  # fmt: skip
    scenario_prefix = forms.CharField(max_length=100, required=False)
    invariant_prefix = forms.CharField(max_length=100, required=False)
    file_glob = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: object, project: Project, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(project=project)


class CodeownersForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=200_000,
                           required=False)  # fmt: skip
    file = forms.FileField(required=False)


class RunbookForm(forms.Form):
    markdown = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}), required=False)
    file = forms.FileField(required=False)


class RunbookLinkForm(forms.ModelForm):
    class Meta:
        model = RunbookLink
        fields = ["kind", "match", "anchor"]


class TriageSettingsForm(forms.ModelForm):
    webhook_url = forms.URLField(
        required=False, assume_scheme="https", help_text="Slack-compatible incoming webhook"
    )
    github_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again; leave empty to keep the current one.",
    )

    class Meta:
        model = TriageSettings
        fields = ["escalate_after_minutes", "notify_emails", "webhook_url", "github_repository"]
        widgets = {"notify_emails": forms.Textarea(attrs={"rows": 3})}

    def clean_webhook_url(self) -> str:
        return _allowed_url(self.cleaned_data.get("webhook_url") or "")

    def clean_github_repository(self) -> str:
        value = self.cleaned_data["github_repository"].strip()
        parts = value.split("/")
        if value and (
            len(parts) != 2
            or not all(part and all(c.isalnum() or c in "-_." for c in part) for part in parts)
        ):
            raise forms.ValidationError("write it as owner/name")
        return value


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

    def clean_github_repository(self) -> str:
        value = self.cleaned_data["github_repository"].strip()
        if value and not re.fullmatch(r"[\w.-]+/[\w.-]+", value):
            raise forms.ValidationError("write it as owner/name")
        return value

    def clean_webhook_url(self) -> str:
        return _allowed_url(self.cleaned_data.get("webhook_url") or "")

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
