"""Every route, by area. Pages that show several areas are served by the highest of them:
the run page, the defect page and the settings page show reruns, so `reruns.views` serves
them with what the lower areas' selectors read."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from api import contract
from api import defects as api_defects
from api import reports as api_reports
from api import reruns as api_reruns
from api import runs as api_runs
from defects import settings_views
from defects import views as defect_views
from operations import health, metrics, security
from reruns import views as rerun_views
from runs import views as run_views

api = [
    path("v1/schema.json", contract.schema_json, name="api_schema"),
    path("openapi.json", contract.openapi_json, name="api_openapi"),
    path("docs", contract.api_docs, name="api_docs"),
    path("v1/projects/<slug:slug>/runs", api_reports.run_report_receive, name="api_runs"),
    path("v1/projects/<slug:slug>/runs/<path:external_id>", api_runs.run_read, name="api_run"),
    path("v1/projects/<slug:slug>/defects", api_defects.defects_list, name="api_defects"),
    path("v1/reruns/<str:token>/status", api_reruns.rerun_status, name="api_rerun_status"),
]

project_settings = [
    path("", rerun_views.project_settings, name="project_settings"),
    path("teams/", settings_views.team_save_view, name="settings_team_save"),
    path("rules/", settings_views.rule_add_view, name="settings_rule_add"),
    path("rules/<int:rule_id>/move/", settings_views.rule_move_view, name="settings_rule_move"),
    path(
        "rules/<int:rule_id>/delete/",
        settings_views.rule_delete_view,
        name="settings_rule_delete",
    ),
    path(
        "codeowners/",
        settings_views.codeowners_import_view,
        name="settings_codeowners_import",
    ),
    path("runbook/", settings_views.runbook_publish_view, name="settings_runbook_publish"),
    path("links/", settings_views.runbook_link_add_view, name="settings_runbook_link_add"),
    path(
        "links/<int:link_id>/delete/",
        settings_views.runbook_link_delete_view,
        name="settings_runbook_link_delete",
    ),
    path(
        "notifications/",
        settings_views.triage_settings_save_view,
        name="settings_notifications_save",
    ),
    path("dispatcher/", rerun_views.dispatcher_save_view, name="settings_dispatcher_save"),
    path("reading/", run_views.report_reading_save_view, name="settings_reading_save"),
    path("members/", run_views.member_add_view, name="settings_member_add"),
    path("members/<int:user_id>/", run_views.member_change_view, name="settings_member_change"),
    path("token/", run_views.token_rotate_view, name="settings_token_rotate"),
]

project = [
    path("", run_views.project_overview, name="project_overview"),
    path("runs/", run_views.run_list, name="run_list"),
    path("runs/<int:run_id>/", rerun_views.run_detail, name="run_detail"),
    path("runs/<int:run_id>/rerun/", rerun_views.run_rerun, name="run_rerun"),
    path("runs/<int:run_id>/reruns/", rerun_views.run_reruns, name="run_reruns"),
    path("runs/<int:run_id>/compare/", run_views.run_compare, name="run_compare"),
    path("runs/<int:run_id>/results/", run_views.run_results_view, name="run_results"),
    path("reruns/<int:rerun_id>/cancel/", rerun_views.rerun_cancel_view, name="rerun_cancel"),
    path("scenarios/<path:key>/", run_views.scenario_detail, name="scenario"),
    path("invariants/<path:key>/", run_views.invariant_detail, name="invariant"),
    path("reasons/<int:reason_id>/", run_views.reason_detail, name="reason"),
    path("search/", run_views.project_search, name="search"),
    path("defects/", defect_views.defect_list, name="defect_list"),
    path("defects/bulk/", defect_views.defect_bulk, name="defect_bulk"),
    path("defects/<int:defect_id>/", rerun_views.defect_detail, name="defect_detail"),
    path("defects/<int:defect_id>/act/", defect_views.defect_act, name="defect_act"),
    path("defects/<int:defect_id>/defect.md", defect_views.defect_export, name="defect_export"),
    path("defects/<int:defect_id>/github/", defect_views.defect_github, name="defect_github"),
    path("defects/<int:defect_id>/rerun/", rerun_views.defect_rerun, name="defect_rerun"),
    path("defects/<int:defect_id>/reruns/", rerun_views.defect_reruns, name="defect_reruns"),
    path("runbook/", defect_views.runbook, name="runbook"),
    path("settings/", include(project_settings)),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/", include(api)),
    path("accounts/login/", security.ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", run_views.home, name="home"),
    path("queue/", defect_views.my_queue, name="my_queue"),
    path("p/<slug:slug>/", include(project)),
]
