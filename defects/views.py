"""Pages of the defect workflow. Views check access, parse input and call services.

The defect page itself shows the defect's reruns too, so the reruns area serves it
(`reruns.views.defect_detail`) with what `defects.selectors.defect_page` reads here."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from defects import selectors
from defects.actions import ActionRefused, ChangedMeanwhile, defect_perform
from defects.export import GitHubError, defect_report, github_issue_create
from defects.forms import DefectActionForm, DefectFilterForm
from defects.grouping import defect_path
from defects.models import Defect, DefectEvent
from defects.runbook import runbook_current, runbook_render
from defects.states import BULK_ACTIONS
from runs.access import project_access, projects_visible_to
from runs.htmx import fragment_requested
from runs.models import Membership

TRIAGER = Membership.Role.TRIAGER


@login_required
def my_queue(request: HttpRequest) -> HttpResponse:
    """Open items of my teams or assigned to me; `?project=<slug>` keeps to one project (and its
    navigation), `?unacknowledged=1` to what nobody has looked at yet."""
    project = None
    if request.GET.get("project"):
        project = project_access(request.user, request.GET["project"][:64]).project
    unacknowledged = request.GET.get("unacknowledged") == "1"
    defects = selectors.my_queue(request.user, project=project, unacknowledged=unacknowledged)
    return render(
        request,
        "defects/queue.html",
        {
            "defects": defects,
            "now": timezone.now(),
            "project": project,
            "unacknowledged": unacknowledged,
            "projects": projects_visible_to(request.user).order_by("name"),
        },
    )


@login_required
@vary_on_headers("HX-Request")
def defect_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug)
    project = access.project
    form = DefectFilterForm(request.GET, project=project)
    page = selectors.defects_page(project, form.filters(), request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "defects/defect_list.html#defect-table"
        if fragment_requested(request)
        else "defects/defect_list.html",
        {
            "project": project,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_act": access.can_triage,
            "bulk_actions": BULK_ACTIONS,
            "teams": project.teams.order_by("name"),
            "now": timezone.now(),
            "failure_reason": selectors.failure_reason_of(project, form.filters()),
        },
    )


@login_required
@require_POST
def defect_bulk(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_access(request.user, slug, role=TRIAGER).project
    form = DefectActionForm(request.POST, project=project)
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("defect_list", kwargs={"slug": slug})
    if not form.is_valid():
        messages.error(request, "The action is not valid: " + form.errors.as_text())
        return redirect(back)
    selected = {}
    for token in request.POST.getlist("defect"):
        defect_id, _, version = token.partition(":")
        if defect_id.isdigit() and version.isdigit():
            selected[int(defect_id)] = int(version)
    done, refused = 0, []
    for defect in Defect.objects.filter(project=project, pk__in=list(selected)).select_related(
        "scenario", "invariant", "owner_team", "assignee", "project"
    ):
        try:
            defect_perform(
                defect=defect, actor=request.user, action=form.cleaned_data["action"],
                version=selected[defect.pk], params=form.cleaned_data,
            )  # fmt: skip
            done += 1
        except ChangedMeanwhile as exc:
            refused.append(f"{defect.fingerprint}: changed by {exc.by} meanwhile")
        except ActionRefused as exc:
            refused.append(f"{defect.fingerprint}: {exc}")
    if done:
        messages.success(request, f"{form.cleaned_data['action']}: {done} defect(s) changed.")
    for line in refused:
        messages.warning(request, line)
    return redirect(back)


@login_required
@require_POST
def defect_act(request: HttpRequest, slug: str, defect_id: int) -> HttpResponse:
    access = project_access(request.user, slug, role=TRIAGER)
    defect = selectors.defect_for_project(access.project, defect_id)
    form = DefectActionForm(request.POST, project=access.project)
    status = 200
    if not form.is_valid():
        messages.error(request, "The action is not valid: " + form.errors.as_text())
        status = 400
    else:
        data = form.cleaned_data
        try:
            defect_perform(
                defect=defect, actor=request.user, action=data["action"],
                version=data["version"] or defect.version, params=data,
            )  # fmt: skip
            messages.success(request, f"Done: {data['action']}.")
        except ChangedMeanwhile as exc:
            messages.warning(
                request,
                f"Not saved: this defect was changed by {exc.by} meanwhile. "
                "Here is its current state; try again if your change still applies.",
            )
            status = 409
        except ActionRefused as exc:
            messages.error(request, f"Not saved: {exc}.")
            status = 400
    if not request.htmx:
        return redirect("defect_detail", slug=slug, defect_id=defect_id)
    # Read again whatever happened: the page shows the defect as it now is.
    defect = selectors.defect_for_project(access.project, defect_id)
    page_url = request.build_absolute_uri(defect_path(defect))
    response = render(
        request, "defects/act_answer.html", selectors.defect_page(access, defect, page_url=page_url)
    )
    # htmx swaps only 2xx answers, and a refused change must still show the fresh state and
    # the message; the outcome travels in a header instead.
    response["X-Triage-Outcome"] = str(status)
    return response


@login_required
def defect_export(request: HttpRequest, slug: str, defect_id: int) -> HttpResponse:
    project = project_access(request.user, slug).project
    defect = selectors.defect_for_project(project, defect_id)
    page_url = request.build_absolute_uri(
        reverse("defect_detail", kwargs={"slug": slug, "defect_id": defect.pk})
    )
    response = HttpResponse(
        defect_report(defect, page_url=page_url).markdown,
        content_type="text/markdown; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="defect-{defect.pk}.md"'
    return response


@login_required
@require_POST
def defect_github(request: HttpRequest, slug: str, defect_id: int) -> HttpResponse:
    project = project_access(request.user, slug, role=TRIAGER).project
    defect = selectors.defect_for_project(project, defect_id)
    page_url = request.build_absolute_uri(
        reverse("defect_detail", kwargs={"slug": slug, "defect_id": defect.pk})
    )
    try:
        url = github_issue_create(defect=defect, page_url=page_url)
    except GitHubError as exc:
        messages.error(request, f"No GitHub issue was created: {exc}")
    else:
        DefectEvent.objects.create(
            defect=defect, actor=request.user, kind=DefectEvent.Kind.COMMENT,
            text=f"GitHub issue created: {url}",
        )  # fmt: skip
        messages.success(request, f"GitHub issue created: {url}")
    return redirect("defect_detail", slug=slug, defect_id=defect_id)


@login_required
def runbook(request: HttpRequest, slug: str) -> HttpResponse:
    access = project_access(request.user, slug)
    project = access.project
    version = runbook_current(project)
    requested = request.GET.get("v", "")
    if requested.isdigit():
        version = project.runbooks.filter(number=int(requested)).first() or version
    html, sections = runbook_render(version) if version else ("", ())
    return render(
        request,
        "defects/runbook.html",
        {
            "project": project,
            "version": version,
            "html": html,
            "sections": sections,
            "versions": project.runbooks.order_by("-number")[:20],
            "is_admin": access.is_admin,
        },
    )
