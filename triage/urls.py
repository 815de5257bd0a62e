from django.contrib.auth import views as auth_views
from django.urls import path

from runs import views as run_views
from triage import api

urlpatterns = [
    path("api/v1/projects/<slug:slug>/runs", api.run_report_receive, name="api_runs"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", run_views.home, name="home"),
    path("p/<slug:slug>/", run_views.project_overview, name="project_overview"),
    path("p/<slug:slug>/runs/", run_views.run_list, name="run_list"),
    path("p/<slug:slug>/runs/<int:run_id>/", run_views.run_detail, name="run_detail"),
    path("p/<slug:slug>/runs/<int:run_id>/compare/", run_views.run_compare, name="run_compare"),
    path("p/<slug:slug>/scenarios/<path:key>/", run_views.scenario_detail, name="scenario"),
    path("p/<slug:slug>/invariants/<path:key>/", run_views.invariant_detail, name="invariant"),
    path("p/<slug:slug>/search/", run_views.project_search, name="search"),
]
