"""A project's triage settings, for its admins: teams, routing rules, runbook, notifications."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from runs.access import project_for_user
from runs.models import Membership
from runs.secrets import secret_encrypt
from triage.forms import (
    CodeownersForm,
    DispatcherForm,
    RuleForm,
    RunbookForm,
    RunbookLinkForm,
    TeamForm,
    TriageSettingsForm,
)
from triage.models import Dispatcher, RoutingRule, RunbookLink, Team, TriageSettings
from triage.routing import rules_import_codeowners
from triage.runbook import runbook_current, runbook_publish, runbook_render

MAX_UPLOAD_BYTES = 1_000_000


def _uploaded_text(upload: object | None) -> str | None:
    if upload is None:
        return None
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
    return upload.read().decode("utf-8", errors="replace")


def _save_team(request: HttpRequest, project: object) -> None:
    form = TeamForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    names = form.cleaned_data["members"].replace(",", " ").split()
    users = list(get_user_model().objects.filter(username__in=names, memberships__project=project))
    missing = set(names) - {user.get_username() for user in users}
    if missing:
        messages.error(request, "Not members of this project: " + ", ".join(sorted(missing)))
        return
    team, _ = Team.objects.get_or_create(project=project, name=form.cleaned_data["name"])
    team.members.set(users)
    messages.success(request, f"Team {team.name} saved with {len(users)} member(s).")


def _add_rule(request: HttpRequest, project: object) -> None:
    form = RuleForm(request.POST, project=project)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    with transaction.atomic():
        last = RoutingRule.objects.filter(project=project).aggregate(Max("position"))
        RoutingRule.objects.create(
            project=project, position=(last["position__max"] or 0) + 1, **form.cleaned_data
        )
    messages.success(request, "Rule added at the end.")


def _move_rule(request: HttpRequest, project: object) -> None:
    rules = list(RoutingRule.objects.filter(project=project).order_by("position", "id"))
    index = next((i for i, r in enumerate(rules) if str(r.pk) == request.POST.get("rule")), None)
    if index is None:
        return
    if request.POST.get("direction") == "delete":
        rules.pop(index).delete()
    else:
        target = index - 1 if request.POST.get("direction") == "up" else index + 1
        if 0 <= target < len(rules):
            rules[index], rules[target] = rules[target], rules[index]
    with transaction.atomic():
        for position, rule in enumerate(rules, start=1):
            if rule.position != position:
                RoutingRule.objects.filter(pk=rule.pk).update(position=position)


def _import_codeowners(request: HttpRequest, project: object) -> None:
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


def _publish_runbook(request: HttpRequest, project: object) -> None:
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


def _add_link(request: HttpRequest, project: object) -> None:
    form = RunbookLinkForm(request.POST)
    if form.is_valid():
        RunbookLink.objects.create(project=project, **form.cleaned_data)
        messages.success(request, "Link added.")
    else:
        messages.error(request, form.errors.as_text())


def _delete_link(request: HttpRequest, project: object) -> None:
    RunbookLink.objects.filter(project=project, pk=request.POST.get("link") or 0).delete()


def _save_settings(request: HttpRequest, project: object) -> None:
    instance, _ = TriageSettings.objects.get_or_create(project=project)
    form = TriageSettingsForm(request.POST, instance=instance)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    saved = form.save(commit=False)
    if form.cleaned_data["github_token"]:
        saved.github_token_encrypted = secret_encrypt(form.cleaned_data["github_token"])
    saved.save()
    messages.success(request, "Settings saved.")


def _save_dispatcher(request: HttpRequest, project: object) -> None:
    instance = Dispatcher.objects.filter(project=project).first() or Dispatcher(project=project)
    form = DispatcherForm(request.POST, instance=instance)
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return
    saved = form.save(commit=False)
    if form.cleaned_data["github_token"]:
        saved.github_token_encrypted = secret_encrypt(form.cleaned_data["github_token"])
    if form.cleaned_data["webhook_secret"]:
        saved.webhook_secret_encrypted = secret_encrypt(form.cleaned_data["webhook_secret"])
    saved.save()
    messages.success(request, f"Rerun dispatcher saved: {saved.get_kind_display()}.")


HANDLERS = {
    "dispatcher": _save_dispatcher,
    "team": _save_team,
    "rule": _add_rule,
    "move-rule": _move_rule,
    "codeowners": _import_codeowners,
    "runbook": _publish_runbook,
    "link": _add_link,
    "delete-link": _delete_link,
    "settings": _save_settings,
}


@login_required
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for_user(request.user, slug, role=Membership.Role.ADMIN)
    if request.method == "POST":
        handler = HANDLERS.get(request.POST.get("section", ""))
        if handler:
            handler(request, project)
        return redirect("project_settings", slug=slug)
    triage_settings, _ = TriageSettings.objects.get_or_create(project=project)
    dispatcher = Dispatcher.objects.filter(project=project).first()
    version = runbook_current(project)
    return render(
        request,
        "triage/settings.html",
        {
            "project": project,
            "teams": project.teams.prefetch_related("members").order_by("name"),
            "rules": RoutingRule.objects.filter(project=project).select_related("team"),
            "rule_form": RuleForm(project=project),
            "links": project.runbook_links.all(),
            "link_form": RunbookLinkForm(),
            "anchors": runbook_render(version)[1] if version else (),
            "runbook": version,
            "settings_form": TriageSettingsForm(instance=triage_settings),
            "has_github_token": bool(triage_settings.github_token_encrypted),
            "dispatcher_form": DispatcherForm(instance=dispatcher),
            "dispatcher": dispatcher,
        },
    )
