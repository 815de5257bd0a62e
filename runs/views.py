from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from runs import (
    overview,
    projects,
    reason_history,
    run_results,
    scenarios,
    search,
    selectors,
)
from runs.access import project_access
from runs.forms import MemberForm, ReportReadingForm, RunFilterForm
from runs.htmx import fragment_requested
from runs.models import Membership, Run
from runs.tokens import project_token_rotate

TREND_WINDOWS = (30, 90)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "runs/home.html", {"cards": overview.project_cards(request.user)})


@login_required
@vary_on_headers("HX-Request")
def project_overview(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_access(request.user, slug).project
    days = int(request.GET["days"]) if request.GET.get("days") in ("30", "90") else 30
    template = "runs/overview.html"
    if fragment_requested(request):
        template += "#overview-body"
    return render(
        request,
        template,
        {
            "project": project,
            "overview": overview.project_overview(project, days=days),
            "windows": TREND_WINDOWS,
        },
    )


@login_required
@vary_on_headers("HX-Request")
def run_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_access(request.user, slug).project
    form = RunFilterForm(request.GET, project=project, suite_names=selectors.suite_names(project))
    filters = form.filters()
    page = selectors.runs_page(project, filters, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    template = "runs/run_list.html"
    if fragment_requested(request):
        template += "#run-table"
    return render(
        request,
        template,
        {
            "project": project,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            # Only the newest page of an open-ended list can gain rows while it is open.
            "live": page.number == 1 and "until" not in filters,
        },
    )


@login_required
def run_compare(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    project = project_access(request.user, slug).project
    run = selectors.run_for_project(project, run_id)
    base_id = request.GET.get("base", "")
    if base_id.isdigit():
        base = get_object_or_404(Run.objects.select_related("suite"), project=project, pk=base_id)
    else:
        base = selectors.previous_run(run)
    return render(
        request,
        "runs/compare.html",
        {"project": project, "comparison": selectors.run_comparison(run, base)},
    )


@login_required
def scenario_detail(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    project = project_access(request.user, slug).project
    scenario = scenarios.scenario_for_project(project, key)
    return render(
        request,
        "runs/scenario.html",
        {
            "project": project,
            "history": scenarios.scenario_history(project, scenario),
            "repro": selectors.repro_line(project, scenario.key),
        },
    )


@login_required
def invariant_detail(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    project = project_access(request.user, slug).project
    invariant = scenarios.invariant_for_project(project, key)
    return render(
        request,
        "runs/invariant.html",
        {"project": project, "radius": scenarios.invariant_blast_radius(invariant)},
    )


@login_required
def project_search(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_access(request.user, slug).project
    # NUL and other control characters can be no part of an id or a word; PostgreSQL would
    # refuse the NUL outright.
    query = "".join(ch for ch in request.GET.get("q", "")[:200] if ch.isprintable())
    exact = search.exact_page(project, query)
    if exact is not None:
        kind, key = exact
        return redirect(reverse(kind, kwargs={"slug": slug, "key": key}))
    results = search.project_search(project, query)
    return render(request, "runs/search.html", {"project": project, "results": results})


@login_required
@require_POST
def report_reading_save_view(request: HttpRequest, slug: str) -> HttpResponse:
    """POST settings/reading/: a project admin changes how XML reports are read."""
    project = project_access(request.user, slug, role=Membership.Role.ADMIN).project
    form = ReportReadingForm(request.POST, instance=project)
    if form.is_valid():
        form.save()
        messages.success(request, "Report reading saved; it applies to reports posted from now on.")
    else:
        messages.error(request, form.errors.as_text())
    return redirect(reverse("project_settings", kwargs={"slug": slug}) + "#reading")


@login_required
def reason_detail(request: HttpRequest, slug: str, reason_id: int) -> HttpResponse:
    """One failure reason: the scenarios and variants it hit, since when, examples."""
    project = project_access(request.user, slug).project
    reason = reason_history.reason_for_project(project, reason_id)
    return render(
        request,
        "runs/reason.html",
        {"project": project, "history": reason_history.reason_history(reason)},
    )


TOKEN_OVERLAP = timedelta(hours=1)


@login_required
@require_POST
def member_add_view(request: HttpRequest, slug: str) -> HttpResponse:
    """POST settings/members/: an admin adds an existing user to the project."""
    project = project_access(request.user, slug, role=Membership.Role.ADMIN).project
    form = MemberForm(request.POST)
    user = None
    if form.is_valid():
        user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
    if user is None or not form.cleaned_data.get("role"):
        messages.error(request, "No user of that name, or no role chosen.")
    else:
        try:
            projects.membership_change(project=project, user=user, role=form.cleaned_data["role"])
            messages.success(
                request, f"{user.get_username()} is a {form.cleaned_data['role']} now."
            )
        except projects.LastAdmin as exc:
            messages.error(request, f"Not changed: {exc}.")
    return redirect(reverse("project_settings", kwargs={"slug": slug}) + "#members")


@login_required
@require_POST
def member_change_view(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    """POST settings/members/<id>/: an admin changes someone's role or takes them out."""
    project = project_access(request.user, slug, role=Membership.Role.ADMIN).project
    membership = get_object_or_404(
        Membership.objects.select_related("user"), project=project, user_id=user_id
    )
    form = MemberForm(request.POST)
    if not form.is_valid() or not (form.cleaned_data["remove"] or form.cleaned_data["role"]):
        messages.error(request, "Choose a role, or remove.")
    else:
        role = None if form.cleaned_data["remove"] else form.cleaned_data["role"]
        try:
            projects.membership_change(project=project, user=membership.user, role=role)
            messages.success(request, f"{membership.user.get_username()}: {role or 'removed'}.")
        except projects.LastAdmin as exc:
            messages.error(request, f"Not changed: {exc}.")
    return redirect(reverse("project_settings", kwargs={"slug": slug}) + "#members")


@login_required
@require_POST
def token_rotate_view(request: HttpRequest, slug: str) -> HttpResponse:
    """POST settings/token/: a new token, shown on this page once; the old ones keep working
    for an hour, so CI can switch without a gap."""
    project = project_access(request.user, slug, role=Membership.Role.ADMIN).project
    token = project_token_rotate(project=project, overlap=TOKEN_OVERLAP)
    response = render(
        request, "runs/new_token.html", {"project": project, "token": token, "overlap": "an hour"}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@vary_on_headers("HX-Request")
def run_results_view(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    """Every result of a run, by status, filtered and sorted, a page at a time (the run page
    loads the first page with itself; tabs, filter and pages come through here)."""
    project = project_access(request.user, slug).project
    run = selectors.run_for_project(project, run_id)
    filters = run_results.ResultFilterForm(request.GET).filters()
    context = {
        "project": project,
        "run": run,
        "results": run_results.run_results(run, filters, request.GET.get("page")),
    }
    if fragment_requested(request):
        return render(request, "runs/_run_results.html", context)
    return redirect(
        reverse("run_detail", kwargs={"slug": slug, "run_id": run.pk})
        + "?"
        + request.GET.urlencode()
        + "#results"
    )
