"""Asking for reruns, watching them, cancelling them, setting up the dispatcher; and the pages
that show reruns beside what they rerun (the run page, the defect page) or beside the other
settings (the settings page), each extending its own area's template."""

from collections.abc import Callable
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from defects import selectors as defect_selectors
from defects.forms import RuleForm, RunbookLinkForm, TriageSettingsForm
from defects.grouping import defect_path
from defects.models import Defect, DefectOccurrence
from reruns.forms import DispatcherForm
from reruns.models import Dispatcher, Rerun
from reruns.requests import RerunRefused, rerun_cancel, rerun_request
from reruns.selectors import defect_panel, run_panel
from reruns.setup import dispatcher_save
from runs import selectors as run_selectors
from runs.access import project_access
from runs.forms import ReportReadingForm
from runs.models import FAILING, Membership, ScenarioResult

TRIAGER = Membership.Role.TRIAGER


@login_required
def run_detail(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    access = project_access(request.user, slug)
    run = run_selectors.run_for_page(access.project, run_id)
    triage = defect_selectors.run_triage(run)
    page = run_selectors.run_page(run, shown_apart=triage.incident_results, listing=request.GET)
    for group in page["groups"]:
        for item in group.results:
            item.triage = triage.defect_of.get(item.result.pk)
    context = {**page, **run_panel(access, run), "incidents": triage.incidents}
    return render(request, "reruns/run_detail.html", context)


@login_required
@vary_on_headers("HX-Request")
def defect_detail(request: HttpRequest, slug: str, defect_id: int) -> HttpResponse:
    access = project_access(request.user, slug)
    defect = defect_selectors.defect_for_project(access.project, defect_id)
    page_url = request.build_absolute_uri(defect_path(defect))
    context = {
        **defect_panel(access, defect),
        **defect_selectors.defect_page(access, defect, page_url=page_url),
    }
    return render(request, "reruns/defect.html", context)


@login_required
def run_reruns(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    access = project_access(request.user, slug)
    run = run_selectors.run_for_project(access.project, run_id)
    return render(request, "reruns/_reruns.html", run_panel(access, run))


@login_required
def defect_reruns(request: HttpRequest, slug: str, defect_id: int) -> HttpResponse:
    access = project_access(request.user, slug)
    defect = defect_selectors.defect_for_project(access.project, defect_id)
    return render(request, "reruns/_reruns.html", defect_panel(access, defect))


def _answer(request: HttpRequest, back: str, panel: Callable[[], dict]) -> HttpResponse:
    # The panel is read only when htmx swaps it in; a redirect's page reads its own.
    if request.htmx:
        return render(request, "reruns/_reruns.html", {**panel(), "show_messages": True})
    return redirect(back)


@login_required
@require_POST
def run_rerun(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    access = project_access(request.user, slug, role=TRIAGER)
    project = access.project
    run = run_selectors.run_to_act_on(project, run_id)
    if request.POST.get("failed"):
        keys = list(
            ScenarioResult.objects.filter(run=run, status__in=FAILING)
            .values_list("scenario__key", flat=True)
            .order_by()
            .distinct()
        )
    else:
        wanted = request.POST.getlist("scenario")
        keys = list(
            ScenarioResult.objects.filter(run=run, scenario__key__in=wanted)
            .values_list("scenario__key", flat=True)
            .order_by()
            .distinct()
        )
    defect = None
    if (request.POST.get("defect") or "").isdigit():
        defect = Defect.objects.filter(project=project, pk=request.POST["defect"]).first()
    try:
        rerun = rerun_request(
            project=project, user=request.user, source_run=run, scenario_keys=keys,
            ref_kind=request.POST.get("ref", Rerun.Ref.COMMIT), defect=defect,
            idempotency_key=request.POST.get("key", ""),
        )  # fmt: skip
        messages.success(request, f"Rerun {rerun.pk} of {', '.join(rerun.scenario_keys)}: "
                         f"{rerun.get_state_display()}.")  # fmt: skip
    except RerunRefused as exc:
        messages.error(request, f"No rerun: {exc}.")
    return _answer(
        request,
        reverse("run_detail", kwargs={"slug": slug, "run_id": run.pk}),
        lambda: defect_panel(access, defect) if defect else run_panel(access, run),
    )


@login_required
@require_POST
def defect_rerun(request: HttpRequest, slug: str, defect_id: int) -> HttpResponse:
    access = project_access(request.user, slug, role=TRIAGER)
    defect = defect_selectors.defect_for_project(access.project, defect_id)
    latest = (
        DefectOccurrence.objects.filter(defect=defect)
        .select_related("run")
        .order_by("-seen_at", "-id")
        .first()
    )
    if latest is None:
        messages.error(request, "No rerun: this defect has no failing run.")
    else:
        keys = (
            [defect.scenario_key]
            if defect.scenario_id
            else sorted(
                set(
                    DefectOccurrence.objects.filter(defect=defect, run=latest.run).values_list(
                        "result__scenario__key", flat=True
                    )
                )
            )
        )
        try:
            rerun_request(
                project=access.project, user=request.user, source_run=latest.run,
                scenario_keys=keys, defect=defect,
                ref_kind=request.POST.get("ref", Rerun.Ref.COMMIT),
                idempotency_key=request.POST.get("key", ""),
            )  # fmt: skip
            messages.success(request, f"Rerun of {', '.join(keys)[:200]} requested.")
        except RerunRefused as exc:
            messages.error(request, f"No rerun: {exc}.")
    return _answer(request, defect_path(defect), lambda: defect_panel(access, defect))


@login_required
@require_POST
def rerun_cancel_view(request: HttpRequest, slug: str, rerun_id: int) -> HttpResponse:
    access = project_access(request.user, slug, role=TRIAGER)
    rerun = get_object_or_404(
        Rerun.objects.select_related("defect", "source_run"), project=access.project, pk=rerun_id
    )
    if rerun_cancel(rerun=rerun, user=request.user):
        messages.success(request, f"Rerun {rerun.pk} cancelled.")
    else:
        messages.error(request, f"Rerun {rerun.pk} was already {rerun.get_state_display()}.")
    if request.POST.get("panel") == "defect" and rerun.defect:
        panel = partial(defect_panel, access, rerun.defect)
        back = defect_path(rerun.defect)
    else:
        panel = partial(run_panel, access, rerun.source_run)
        back = reverse("run_detail", kwargs={"slug": slug, "run_id": rerun.source_run_id})
    return _answer(request, back, panel)


@login_required
@require_safe
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The settings page: the defect workflow's settings, and the rerun dispatcher."""
    project = project_access(request.user, slug, role=Membership.Role.ADMIN).project
    context = defect_selectors.settings_page(project)
    dispatcher = Dispatcher.objects.filter(project=project).first()
    # Two forms on one page: element ids of their own, so each label focuses its own field.
    context.update(
        rule_form=RuleForm(project=project, auto_id="rule-%s"),
        link_form=RunbookLinkForm(auto_id="link-%s"),
        settings_form=TriageSettingsForm(instance=context["triage_settings"], auto_id="notify-%s"),
        dispatcher_form=DispatcherForm(instance=dispatcher, auto_id="dispatcher-%s"),
        dispatcher=dispatcher,
        reading_form=ReportReadingForm(instance=project, auto_id="reading-%s"),
        members=project.memberships.select_related("user").order_by("user__username"),
        roles=Membership.Role.choices,
        tokens=project.tokens.filter(revoked_at__isnull=True).order_by("-created_at"),
    )
    return render(request, "reruns/settings.html", context)


@login_required
@require_POST
def dispatcher_save_view(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_access(request.user, slug, role=Membership.Role.ADMIN).project
    instance = Dispatcher.objects.filter(project=project).first() or Dispatcher(project=project)
    form = DispatcherForm(request.POST, instance=instance)
    if form.is_valid():
        saved = dispatcher_save(
            dispatcher=form.save(commit=False),
            github_token=form.cleaned_data["github_token"],
            webhook_secret=form.cleaned_data["webhook_secret"],
        )
        messages.success(request, f"Rerun dispatcher saved: {saved.get_kind_display()}.")
    else:
        messages.error(request, form.errors.as_text())
    return redirect(reverse("project_settings", kwargs={"slug": slug}) + "#dispatcher")
