"""A project's triage settings, for its admins: one URL per action, each calling a service.

The settings page itself also shows the rerun dispatcher, so the reruns area serves it
(`reruns.views.project_settings`) with what `defects.selectors.settings_page` reads here."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from defects.forms import (
    CodeownersForm,
    RuleForm,
    RunbookForm,
    RunbookLinkForm,
    TeamForm,
    TriageSettingsForm,
)
from defects.models import RoutingRule, RunbookLink, TriageSettings
from defects.project_settings import triage_settings_save
from defects.routing import rule_add, rule_delete, rule_move, rules_import_codeowners
from defects.runbook import runbook_link_add, runbook_link_delete, runbook_publish
from defects.teams import NotMembers, team_save
from runs.access import project_access
from runs.models import Membership, Project

MAX_UPLOAD_BYTES = 1_000_000
SettingsAction = Callable[..., None]


def settings_action(anchor: str) -> Callable[[SettingsAction], Callable[..., HttpResponse]]:
    """A POST-only action of a project admin; it answers with the settings page, scrolled to
    the section that was changed."""

    def decorate(action: SettingsAction) -> Callable[..., HttpResponse]:
        @login_required
        @require_POST
        @wraps(action)
        def view(request: HttpRequest, slug: str, **kwargs: int) -> HttpResponse:
            project = project_access(request.user, slug, role=Membership.Role.ADMIN).project
            action(request, project, **kwargs)
            return redirect(reverse("project_settings", kwargs={"slug": slug}) + f"#{anchor}")

        return view

    return decorate


def _uploaded_text(upload: UploadedFile | None) -> str | None:
    if upload is None:
        return None
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
    return upload.read().decode("utf-8", errors="replace")


@settings_action("teams")
def team_save_view(request: HttpRequest, project: Project) -> None:
    form = TeamForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    usernames = form.cleaned_data["members"].replace(",", " ").split()
    try:
        team = team_save(project=project, name=form.cleaned_data["name"], usernames=usernames)
    except NotMembers as exc:
        messages.error(request, str(exc))
        return
    messages.success(request, f"Team {team.name} saved with {team.members.count()} member(s).")


@settings_action("rules")
def rule_add_view(request: HttpRequest, project: Project) -> None:
    form = RuleForm(request.POST, project=project)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    rule_add(project_id=project.pk, **form.cleaned_data)
    messages.success(request, "Rule added at the end.")


@settings_action("rules")
def rule_move_view(request: HttpRequest, project: Project, rule_id: int) -> None:
    rule = get_object_or_404(RoutingRule, project=project, pk=rule_id)
    rule_move(rule=rule, up=request.POST.get("direction") == "up")


@settings_action("rules")
def rule_delete_view(request: HttpRequest, project: Project, rule_id: int) -> None:
    rule_delete(rule=get_object_or_404(RoutingRule, project=project, pk=rule_id))
    messages.success(request, "Rule deleted.")


@settings_action("rules")
def codeowners_import_view(request: HttpRequest, project: Project) -> None:
    form = CodeownersForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    try:
        text = _uploaded_text(form.cleaned_data.get("file")) or form.cleaned_data["text"]
    except ValueError as exc:
        messages.error(request, str(exc))
        return
    rules = rules_import_codeowners(project_id=project.pk, text=text)
    messages.success(request, f"Imported {len(rules)} rule(s) from CODEOWNERS.")


@settings_action("runbook")
def runbook_publish_view(request: HttpRequest, project: Project) -> None:
    form = RunbookForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    try:
        text = _uploaded_text(form.cleaned_data.get("file")) or form.cleaned_data["markdown"]
        if not text.strip():
            raise ValueError("the runbook is empty")
        version = runbook_publish(project=project, markdown=text, author=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return
    messages.success(request, f"Runbook version {version.number} published.")


@settings_action("runbook")
def runbook_link_add_view(request: HttpRequest, project: Project) -> None:
    form = RunbookLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    runbook_link_add(project=project, **form.cleaned_data)
    messages.success(request, "Link added.")


@settings_action("runbook")
def runbook_link_delete_view(request: HttpRequest, project: Project, link_id: int) -> None:
    runbook_link_delete(link=get_object_or_404(RunbookLink, project=project, pk=link_id))


@settings_action("notifications")
def triage_settings_save_view(request: HttpRequest, project: Project) -> None:
    instance, _ = TriageSettings.objects.get_or_create(project=project)
    form = TriageSettingsForm(request.POST, instance=instance)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    triage_settings_save(
        triage_settings=form.save(commit=False), github_token=form.cleaned_data["github_token"]
    )
    messages.success(request, "Settings saved.")
