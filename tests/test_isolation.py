"""No URL shows or changes another project's data: a matrix generated from the URL conf."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from defects.models import Defect, DefectEvent, RoutingRule, RunbookLink, Team
from reruns.models import Rerun
from runs.models import Membership
from tests.builders import (
    a_failure,
    a_project,
    a_report,
    a_rule,
    a_scenario,
    a_team,
    a_triaged_run,
    a_user,
)

pytestmark = pytest.mark.django_db

PUBLIC = {"login", "logout"}
# Routes that name no project; every other route must take one, so a new view is either
# listed here on purpose or checked by the matrix below.
WITHOUT_PROJECT = {
    "home",
    "my_queue",
    "healthz",
    "metrics",
    "api_schema",
    "api_openapi",
    "api_docs",
}


def named_routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from named_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, prefix + str(entry.pattern)


def fill(route: str, name: str, values: dict[str, object]) -> str:
    def value(match: re.Match) -> str:
        param = match.group(2)
        if param == "key":
            return str(values["invariant" if name == "invariant" else "scenario"])
        if param not in values:
            raise AssertionError(f"the isolation matrix does not know <{param}> of {name}")
        return str(values[param])

    return "/" + re.sub(r"<(\w+:)?(\w+)>", value, route)


@pytest.fixture
def two_projects(client):
    mine, mine_token = a_project("mine", "Mine")
    theirs, _ = a_project("theirs", "Theirs")
    me = a_user("me", member_of=mine, role=Membership.Role.ADMIN)
    them = a_user("them", member_of=theirs)
    their_rule = a_rule(theirs, a_team(theirs, "their-team", them), scenario_prefix="SEC")
    their_link = RunbookLink.objects.create(project=theirs, kind="class", match="infra", anchor="a")
    secret = a_failure(invariantId="SECRET-001", message="their private failure")
    run = a_triaged_run(
        theirs, a_report("their-run", [a_scenario("SEC-001", "failed", failures=[secret])])
    )
    a_triaged_run(mine, a_report("my-run", [a_scenario("MY-001", "failed")]))
    their_rerun = Rerun.objects.create(
        project=theirs, source_run=run, scenario_keys=["SEC-001"], token="their-token",
        idempotency_key="their-key",
    )  # fmt: skip
    client.force_login(me)
    return {
        "client": client,
        "mine_token": mine_token,
        "theirs": {
            "slug": "theirs",
            "run_id": run.pk,
            "defect_id": Defect.objects.get(project=theirs).pk,
            "scenario": "SEC-001",
            "invariant": "SECRET-001",
            "rerun_id": their_rerun.pk,
            "rule_id": their_rule.pk,
            "link_id": their_link.pk,
        },
    }


# Enough fields for any action or settings form to do something, were it allowed.
FORM = {"action": "acknowledge", "version": 1, "section": "team", "name": "x", "q": "SEC"}


def snapshot() -> tuple:
    return (
        list(Defect.objects.order_by("pk").values_list("state", "defect_class", "owner_team_id")),
        list(Rerun.objects.order_by("pk").values_list("state", "scenario_keys")),
        DefectEvent.objects.count(),
        Team.objects.count(),
        list(RoutingRule.objects.order_by("pk").values_list("position", "team_id")),
        RunbookLink.objects.count(),
    )


def test_every_project_url_answers_404_for_another_projects_ids(two_projects):
    client = two_projects["client"]
    theirs = two_projects["theirs"]
    before = snapshot()
    checked = []
    for name, route in named_routes():
        if name in PUBLIC or name in WITHOUT_PROJECT or name.startswith("api_"):
            assert "<slug" not in route or name.startswith("api_"), name
            continue
        needs_ids = any(
            param in route
            for param in ("run_id", "defect_id", "rerun_id", "rule_id", "link_id", "key")
        )
        # Their slug, or my slug with their ids when the route takes ids.
        for slug in ("theirs", "mine") if needs_ids else ("theirs",):
            url = fill(route, name, {**theirs, "slug": slug})
            for method in ("get", "post"):
                response = getattr(client, method)(url, FORM)
                assert response.status_code in (404, 405), (method, url, response.status_code)
                checked.append((method, url))
    assert snapshot() == before
    assert len(checked) > 20


def test_the_api_refuses_another_projects_slug_with_my_token(two_projects, client):
    token = two_projects["mine_token"]
    for name, route in named_routes():
        if not name.startswith("api_") or "<slug" not in route:
            continue
        url = fill(route, name, {"slug": "theirs"})
        assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code in (404, 405)
        response = client.post(url, b"{}", content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
        assert response.status_code in (404, 405), url


def test_pages_without_a_project_show_only_my_projects(two_projects):
    client = two_projects["client"]
    for url in ("/", "/queue/"):
        html = client.get(url).content.decode()
        assert "Theirs" not in html and "SEC-001" not in html


def test_a_rerun_status_callback_needs_the_rerun_token(two_projects, client):
    response = client.post("/api/v1/reruns/not-the-token/status", b'{"state": "running"}',
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 404
    assert Rerun.objects.get().state == "requested"


def test_every_route_either_names_a_project_or_is_known_not_to():
    for name, route in named_routes():
        known = name in PUBLIC | WITHOUT_PROJECT or name == "api_rerun_status"
        assert known or "<slug" in route, f"{name} ({route}) is not in the isolation matrix"
