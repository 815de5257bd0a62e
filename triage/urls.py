from django.contrib.auth import views as auth_views
from django.urls import path

from runs import views as run_views
from triage import admin_views, api, contract, ops, rerun_views, security
from triage import views as triage_views

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics, name="metrics"),
    path("api/v1/schema.json", contract.schema_json, name="api_schema"),
    path("api/openapi.json", contract.openapi_json, name="api_openapi"),
    path("api/docs", contract.api_docs, name="api_docs"),
    path("api/v1/projects/<slug:slug>/runs", api.run_report_receive, name="api_runs"),
    path("api/v1/projects/<slug:slug>/defects", api.defects_list, name="api_defects"),
    path("api/v1/reruns/<str:token>/status", api.rerun_status, name="api_rerun_status"),
    path("accounts/login/", security.ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", run_views.home, name="home"),
    path("queue/", triage_views.my_queue, name="my_queue"),
    path("p/<slug:slug>/", run_views.project_overview, name="project_overview"),
    path("p/<slug:slug>/runs/", run_views.run_list, name="run_list"),
    # The run page with its reruns: the project package adds the triage parts to it.
    path("p/<slug:slug>/runs/<int:run_id>/", rerun_views.run_detail, name="run_detail"),
    path("p/<slug:slug>/runs/<int:run_id>/rerun/", rerun_views.run_rerun, name="run_rerun"),
    path("p/<slug:slug>/runs/<int:run_id>/reruns/", rerun_views.run_reruns, name="run_reruns"),
    path(
        "p/<slug:slug>/reruns/<int:rerun_id>/cancel/",
        rerun_views.rerun_cancel_view,
        name="rerun_cancel",
    ),
    path("p/<slug:slug>/runs/<int:run_id>/compare/", run_views.run_compare, name="run_compare"),
    path("p/<slug:slug>/scenarios/<path:key>/", run_views.scenario_detail, name="scenario"),
    path("p/<slug:slug>/invariants/<path:key>/", run_views.invariant_detail, name="invariant"),
    path("p/<slug:slug>/search/", run_views.project_search, name="search"),
    path("p/<slug:slug>/defects/", triage_views.defect_list, name="defect_list"),
    path("p/<slug:slug>/defects/bulk/", triage_views.defect_bulk, name="defect_bulk"),
    path(
        "p/<slug:slug>/defects/<int:defect_id>/", triage_views.defect_detail, name="defect_detail"
    ),
    path("p/<slug:slug>/defects/<int:defect_id>/act/", triage_views.defect_act, name="defect_act"),
    path(
        "p/<slug:slug>/defects/<int:defect_id>/defect.md",
        triage_views.defect_export,
        name="defect_export",
    ),
    path(
        "p/<slug:slug>/defects/<int:defect_id>/github/",
        triage_views.defect_github,
        name="defect_github",
    ),
    path(
        "p/<slug:slug>/defects/<int:defect_id>/rerun/",
        rerun_views.defect_rerun,
        name="defect_rerun",
    ),
    path(
        "p/<slug:slug>/defects/<int:defect_id>/reruns/",
        rerun_views.defect_reruns,
        name="defect_reruns",
    ),
    path("p/<slug:slug>/runbook/", triage_views.runbook, name="runbook"),
    path("p/<slug:slug>/settings/", admin_views.project_settings, name="project_settings"),
]
