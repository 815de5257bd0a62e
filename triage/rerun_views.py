"""Asking for reruns, watching them, cancelling them; and the run page with its reruns."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from runs import selectors as run_selectors
from runs.access import has_role, project_for_user
from runs.models import FAILING, Membership, Run, ScenarioResult
from runs.views import run_detail_context
from triage import selectors
from triage.models import Defect, DefectOccurrence, Dispatcher, Rerun
from triage.reruns import RerunRefused, rerun_cancel, rerun_request

TRIAGER = Membership.Role.TRIAGER
RERUNS_SHOWN = 20


def _run_panel(request: HttpRequest, project: object, run: Run) -> dict:
    poll = reverse("run_reruns", kwargs={"slug": project.slug, "run_id": run.pk})
    return _panel(request, project, _run_reruns(run), poll)


def defect_panel(request: HttpRequest, project: object, defect: Defect) -> dict:
    poll = reverse("defect_reruns", kwargs={"slug": project.slug, "defect_id": defect.pk})
    return _panel(request, project, _defect_reruns(defect), poll)


def _panel(request: HttpRequest, project: object, reruns: list[Rerun], poll_url: str) -> dict:
    return {
        "project": project,
        "reruns": reruns,
        "poll_url": poll_url,
        "polling": any(rerun.is_active for rerun in reruns),
        "can_act": has_role(request.user, project, TRIAGER),
        "has_dispatcher": Dispatcher.objects.filter(project=project).exists(),
    }


def _run_reruns(run: Run) -> list[Rerun]:
    return list(
        Rerun.objects.filter(source_run=run)
        .select_related("requested_by", "report_run")
        .order_by("-created_at")[:RERUNS_SHOWN]
    )


def _defect_reruns(defect: Defect) -> list[Rerun]:
    return list(
        Rerun.objects.filter(defect=defect)
        .select_related("requested_by", "report_run")
        .order_by("-created_at")[:RERUNS_SHOWN]
    )


@login_required
def run_detail(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    context = run_detail_context(request, slug, run_id)
    context.update(_run_panel(request, context["project"], context["run"]))
    return render(request, "triage/run_detail.html", context)


@login_required
def run_reruns(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    project = project_for_user(request.user, slug)
    run = run_selectors.run_for_project(project, run_id)
    return render(request, "triage/_reruns.html", _run_panel(request, project, run))


@login_required
def defect_reruns(request: HttpRequest, slug: str, defect_id: int) -> HttpResponse:
    project = project_for_user(request.user, slug)
    defect = selectors.defect_for_project(project, defect_id)
    return render(request, "triage/_reruns.html", defect_panel(request, project, defect))


def _answer(request: HttpRequest, back: str, panel: dict) -> HttpResponse:
    if request.htmx:
        return render(request, "triage/_reruns.html", {**panel, "show_messages": True})
    return redirect(back)


@login_required
@require_POST
def run_rerun(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    project = project_for_user(request.user, slug, role=TRIAGER)
    run = run_selectors.run_for_project(project, run_id)
    if request.POST.get("failed"):
        keys = list(
            ScenarioResult.objects.filter(run=run, status__in=FAILING)
            .values_list("scenario__key", flat=True)
            .distinct()
        )
    else:
        wanted = request.POST.getlist("scenario")
        keys = list(
            ScenarioResult.objects.filter(run=run, scenario__key__in=wanted)
            .values_list("scenario__key", flat=True)
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
        defect_panel(request, project, defect) if defect else _run_panel(request, project, run),
    )


@login_required
@require_POST
def defect_rerun(request: HttpRequest, slug: str, defect_id: int) -> HttpResponse:
    project = project_for_user(request.user, slug, role=TRIAGER)
    defect = selectors.defect_for_project(project, defect_id)
    latest = (
        DefectOccurrence.objects.filter(defect=defect)
        .select_related("run")
        .order_by("-seen_at", "-id")
        .first()
    )
    if latest is None:
        messages.error(request, "No rerun: this defect has no failing run.")
    else:
        try:
            rerun_request(
                project=project, user=request.user, source_run=latest.run,
                scenario_keys=[defect.scenario.key], defect=defect,
                ref_kind=request.POST.get("ref", Rerun.Ref.COMMIT),
                idempotency_key=request.POST.get("key", ""),
            )  # fmt: skip
            messages.success(request, f"Rerun of {defect.scenario.key} requested.")
        except RerunRefused as exc:
            messages.error(request, f"No rerun: {exc}.")
    return _answer(
        request,
        reverse("defect_detail", kwargs={"slug": slug, "defect_id": defect.pk}),
        defect_panel(request, project, defect),
    )


@login_required
@require_POST
def rerun_cancel_view(request: HttpRequest, slug: str, rerun_id: int) -> HttpResponse:
    project = project_for_user(request.user, slug, role=TRIAGER)
    rerun = get_object_or_404(
        Rerun.objects.select_related("defect", "source_run"), project=project, pk=rerun_id
    )
    if rerun_cancel(rerun=rerun, user=request.user):
        messages.success(request, f"Rerun {rerun.pk} cancelled.")
    else:
        messages.error(request, f"Rerun {rerun.pk} was already {rerun.get_state_display()}.")
    if request.POST.get("panel") == "defect" and rerun.defect:
        panel = defect_panel(request, project, rerun.defect)
        back = reverse("defect_detail", kwargs={"slug": slug, "defect_id": rerun.defect.pk})
    else:
        panel = _run_panel(request, project, rerun.source_run)
        back = reverse("run_detail", kwargs={"slug": slug, "run_id": rerun.source_run_id})
    return _answer(request, back, panel)
