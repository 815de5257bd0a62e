from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from runs import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "runs/home.html", {"projects": selectors.project_list(request.user)})


@login_required
def run_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = selectors.project_for_user(request.user, slug)
    page = selectors.runs_page(project, request.GET.get("page"))
    return render(request, "runs/run_list.html", {"project": project, "page": page})


@login_required
def run_detail(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    project = selectors.project_for_user(request.user, slug)
    run = selectors.run_for_project(project, run_id)
    return render(
        request,
        "runs/run_detail.html",
        {"project": project, "run": run, "groups": selectors.run_failure_groups(run)},
    )
