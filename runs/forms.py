import re
from datetime import date

from django import forms

from runs.models import Membership, Project, Status


class RunFilterForm(forms.Form):
    """The run list's filters, read from the query string so every view of it is a link."""

    suite = forms.ChoiceField(required=False)
    branch = forms.CharField(required=False, max_length=255)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "any status"), (Status.PASSED, "passed"), (Status.FAILED, "failed"),
                 (Status.ERROR, "error")],
    )  # fmt: skip
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "run id, commit, branch"}),
    )

    def __init__(self, *args: object, project: Project, suite_names: list[str], **kwargs: object):
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["suite"].choices = [("", "any suite")] + [(n, n) for n in suite_names]

    def clean(self) -> dict:
        cleaned = super().clean()
        since: date | None = cleaned.get("since")
        until: date | None = cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "must not be before the start date")
        return cleaned

    def filters(self) -> dict[str, object]:
        """The valid, non-empty filters; an invalid one is shown as an error and not applied."""
        self.is_valid()
        return {
            name: value
            for name, value in getattr(self, "cleaned_data", {}).items()
            if value not in (None, "") and name not in self.errors
        }


# A group holding a repetition, itself repeated: (a+)+, (\w*)*, (x{2,})+ ...
NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{?]")

BACK_REFERENCE = re.compile(r"(?<!\\)\\[1-9]")


class ReportReadingForm(forms.ModelForm):
    """How this project's XML reports are read: where ids are, and what a repeated case is."""

    artifact_base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=200,
        label="Artifact base URL",
        help_text=Project._meta.get_field("artifact_base_url").help_text,
    )

    class Meta:
        model = Project
        fields = [
            "scenario_id_pattern", "invariant_id_pattern", "repeated_testcase", "artifact_base_url",
        ]  # fmt: skip
        labels = {
            "scenario_id_pattern": "Scenario id pattern",
            "invariant_id_pattern": "Invariant id pattern",
            "repeated_testcase": "A test case listed twice in one suite is",
            "artifact_base_url": "Artifact base URL",
        }

    def _pattern(self, name: str) -> str:
        pattern = self.cleaned_data[name]
        if not pattern:
            return pattern
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise forms.ValidationError(f"not a regular expression: {exc}") from None
        if compiled.search(""):
            raise forms.ValidationError("it matches an empty name, so every test would have it")
        if NESTED_QUANTIFIER.search(pattern) or BACK_REFERENCE.search(pattern):
            # Every report of the project is matched with it: a pattern that can backtrack
            # for minutes on one long name would hold a worker of the whole server.
            raise forms.ValidationError(
                "nested repetition such as (a+)+ or back-references are not accepted"
            )
        return pattern

    def clean_scenario_id_pattern(self) -> str:
        return self._pattern("scenario_id_pattern")

    def clean_invariant_id_pattern(self) -> str:
        return self._pattern("invariant_id_pattern")


class MemberForm(forms.Form):
    """Add someone to a project, or change their role (`remove` takes them out)."""

    username = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Membership.Role.choices, required=False)
    remove = forms.BooleanField(required=False)
