"""Every route of the URL conf, every path value and the query values views read, filled with
hostile input (NUL, a lone surrogate, very long, traversal, unicode, huge numbers): a 4xx or
a page, never a 5xx. Generated from the URL conf, so a new route is fuzzed without asking."""

import re
from urllib.parse import quote

import pytest

from defects.models import Defect, RunbookLink
from reruns.models import Rerun
from runs.models import FailureReason, Membership
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
from tests.routes import named_routes

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]
# Already percent-encoded where a raw character could not travel in a URL at all.
HOSTILE = [
    "%00", "a%00b", "%ED%A0%80", "x" * 3000, "..%2F..%2Fetc%2Fpasswd", "%2e%2e",
    quote("ü漢字🙂"), "-1", "9" * 40, quote("' OR 1=1--"), quote("<script>x</script>"), "%0d%0a",
]  # fmt: skip
QUERY_NAMES = [
    "q", "state", "class", "team", "owner", "scenario", "invariant", "page", "status", "sort",
    "days", "base", "failure_reason", "project", "unacknowledged", "runId", "suite", "part",
    "totalParts", "variant", "key", "ref", "defect_class", "rerunToken", "branch", "since",
    "until",
]  # fmt: skip


@pytest.fixture
def project_with_everything(client):
    project, token = a_project()
    admin = a_user("root", member_of=project, role=Membership.Role.ADMIN)
    a_rule(project, a_team(project, "bidding", admin), scenario_prefix="BID")
    link = RunbookLink.objects.create(project=project, kind="class", match="infra", anchor="a")
    run = a_triaged_run(project, a_report("run-1", [
        a_scenario("BID-001", "failed", failures=[a_failure(invariantId="TENANT-004")]),
    ]))  # fmt: skip
    rerun = Rerun.objects.create(
        project=project, source_run=run, scenario_keys=["BID-001"], token="tok-1",
        idempotency_key="k-1",
    )  # fmt: skip
    client.force_login(admin)
    return client, token, {
        "slug": "dispatch", "run_id": run.pk, "defect_id": Defect.objects.get().pk,
        "rerun_id": rerun.pk, "rule_id": project.routing_rules.get().pk, "link_id": link.pk,
        "user_id": admin.pk, "reason_id": FailureReason.objects.first().pk,
        "key": "BID-001", "external_id": "run-1", "token": "tok-1",
    }  # fmt: skip


def _fill(route: str, values: dict, name: str, hostile: tuple[str, str] | None = None) -> str:
    def value(match: re.Match) -> str:
        param = match.group(2)
        if hostile and param == hostile[0]:
            return hostile[1]
        if param == "key":
            return "TENANT-004" if name == "invariant" else "BID-001"
        return quote(str(values.get(param, "1")), safe="")

    return "/" + re.sub(r"<(\w+:)?(\w+)>", value, route)


def test_no_route_answers_hostile_paths_or_query_values_with_a_server_error(
    project_with_everything,
):
    client, token, values = project_with_everything
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    server_errors = []
    tried = 0
    for name, route in named_routes():
        if name == "logout":
            continue
        params = re.findall(r"<(?:\w+:)?(\w+)>", route)
        urls = [_fill(route, values, name, (param, bad)) for param in params for bad in HOSTILE]
        base = _fill(route, values, name)
        urls += [
            base + "?" + "&".join(f"{query}={bad}" for query in QUERY_NAMES) for bad in HOSTILE
        ]
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url, **auth)
                tried += 1
                if response.status_code >= 500:
                    server_errors.append(f"{method.upper()} {url[:160]} -> {response.status_code}")
    assert not server_errors, "\n".join(server_errors[:40])
    assert tried > 1000
