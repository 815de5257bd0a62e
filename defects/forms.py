from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from defects.models import Defect, DefectClass, RunbookLink, Team, TriageSettings
from defects.states import ACTIONS, STATE_FILTERS
from operations.outbound import typed_destination
from runs.models import Project


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
    """The defect list's filters, read alike from the list page and the defects API."""

    state = forms.CharField(
        required=False,
        max_length=200,
        # The page offers the named groups; the API may also send states, comma-separated.
        widget=forms.Select(choices=[(name, name) for name in STATE_FILTERS]),
    )
    defect_class = forms.ChoiceField(
        choices=[("", "any class"), *DefectClass.choices], required=False
    )
    team = forms.CharField(required=False, max_length=100, help_text='a team name, or "none"')
    scenario = forms.CharField(required=False, max_length=200, help_text="* is a wildcard")
    invariant = forms.CharField(required=False, max_length=200, help_text="* is a wildcard")
    q = forms.CharField(required=False, max_length=200)
    # Everything that shares one failure reason, to act on it at once.
    failure_reason = forms.IntegerField(required=False, min_value=1, max_value=2**62)

    def __init__(self, *args: object, project: Project, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_state(self) -> list[str]:
        states: list[str] = []
        unknown = []
        for name in filter(None, self.cleaned_data["state"].split(",")):
            if name in STATE_FILTERS:
                states += STATE_FILTERS[name]
            elif name in Defect.State.values:
                states.append(name)
            else:
                unknown.append(name)
        if unknown:
            raise forms.ValidationError(
                f"unknown {', '.join(sorted(unknown))}: use {', '.join(STATE_FILTERS)} "
                f"or one of {', '.join(Defect.State.values)}"
            )
        return sorted(set(states))

    def clean_team(self) -> str:
        team = self.cleaned_data["team"]
        # A mistyped team must not make a release gate pass on an empty list.
        if team and team != "none" and not self.project.teams.filter(name=team).exists():
            raise forms.ValidationError("no team of that name")
        return team

    def filters(self) -> dict[str, Any]:
        """The valid filters that are set; a person's page ignores a filter it cannot read."""
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
        return typed_destination(self.cleaned_data.get("webhook_url") or "")

    def clean_github_repository(self) -> str:
        value = self.cleaned_data["github_repository"].strip()
        parts = value.split("/")
        if value and (
            len(parts) != 2
            or not all(part and all(c.isalnum() or c in "-_." for c in part) for part in parts)
        ):
            raise forms.ValidationError("write it as owner/name")
        return value
