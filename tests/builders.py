"""Builders for test data: reports as CI would post them, projects with tokens, users."""

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from runs.models import Membership, Project
from runs.projects import membership_grant, project_create


def a_failure(**overrides: Any) -> dict[str, Any]:
    failure: dict[str, Any] = {
        "invariantId": "TENANT-004",
        "organizationUnderTest": "org-a",
        "keyEntityIds": {"orgId": "org-a", "bidWindowId": "bw-17", "driverId": "drv-a-2"},
        "message": "bid-open notification reached a driver of org-b",
        "expected": "only drivers of org-a are notified",
        "observed": "drv-b-1 of org-b was notified",
        "evidence": [
            {
                "label": "notifications for bw-17",
                "rows": [
                    {"id": "n-1", "org_id": "org-a", "user_id": "drv-a-2"},
                    {"id": "n-2", "org_id": "org-b", "user_id": "drv-b-1"},
                ],
            }
        ],
        "artifacts": ["logs/nightly/2026-11-20/ci-artifacts/report.json"],
    }
    failure.update(overrides)
    return failure


def a_scenario(scenario_id: str = "BID-001", status: str = "passed", **overrides: Any) -> dict:
    scenario: dict[str, Any] = {
        "scenarioId": scenario_id,
        "title": f"{scenario_id} does what it should",
        "status": status,
        "durationMs": 5120,
        "file": f"tests/integration/{scenario_id}.smoke.test.ts",
        "attempt": 1,
    }
    if status == "failed":
        # Each scenario fails in its own words, as unrelated bugs do; failures that share a
        # reason (an outage) are built on purpose, with `a_failure(message=...)`.
        scenario["failures"] = [
            a_failure(message=f"{scenario_id}: bid-open notification reached a driver of org-b")
        ]
    scenario.update(overrides)
    return scenario


def a_report(run_id: str = "gh-8812345-1", scenarios: list[dict] | None = None, **run: Any) -> dict:
    info: dict[str, Any] = {
        "id": run_id,
        "suite": "smoke",
        "url": "https://ci.example.test/runs/8812345",
        "branch": "main",
        "commit": "9f1c2e7",
        "trigger": "pull_request",
        "startedAt": "2026-11-20T02:00:00Z",
        "finishedAt": "2026-11-20T02:08:31Z",
    }
    info.update(run)
    if scenarios is None:
        scenarios = [
            a_scenario("BID-001", "failed"),
            a_scenario("BID-002", "passed"),
            a_scenario("SCH-001", "skipped"),
        ]
    return {"run": info, "scenarios": copy.deepcopy(scenarios)}


def report_bytes(report: dict) -> bytes:
    return json.dumps(report).encode()


def a_project(slug: str = "dispatch", name: str = "Dispatch") -> tuple[Project, str]:
    """A project and its CI token."""
    return project_create(slug=slug, name=name)


def a_user(
    username: str,
    *,
    member_of: Project | None = None,
    role: str = Membership.Role.TRIAGER,
    password: str = "pw-for-tests",
) -> User:
    user = User.objects.create_user(
        username=username, password=password, email=f"{username}@example.test"
    )
    if member_of is not None:
        membership_grant(project=member_of, user=user, role=role)
    return user


def a_stored_run(project: Project, report: dict):
    """Ingest `report` for `project` through the webhook's own service and return the run."""
    from runs.ingest import run_ingest
    from runs.schema import report_parse

    return run_ingest(project=project, report=report_parse(report_bytes(report))).run


def a_team(project: Project, name: str, *members: User):
    from defects.models import Team

    team = Team.objects.create(project=project, name=name)
    team.members.add(*members)
    return team


def a_rule(project: Project, team, **match: str):
    from defects.models import RoutingRule

    position = RoutingRule.objects.filter(project=project).count() + 1
    return RoutingRule.objects.create(project=project, team=team, position=position, **match)


def a_triaged_run(project: Project, report: dict):
    """Ingest a report and group its failures into defects, as the webhook does."""
    from defects.grouping import defects_record_run

    run = a_stored_run(project, report)
    defects_record_run(run=run)
    return run


def later(minutes: int = 0) -> str:
    """A start after "now": a run that can show a fix did not hold."""
    return (datetime.now(UTC) + timedelta(minutes=1 + minutes)).isoformat()


def ago(minutes: float) -> dict[str, str]:
    """A run's start and finish some minutes back, as report fields."""
    start = datetime.now(UTC) - timedelta(minutes=minutes)
    return {
        "startedAt": start.isoformat(),
        "finishedAt": (start + timedelta(minutes=1)).isoformat(),
    }


def defect_of(project: Project, fingerprint: str):
    from defects.models import Defect

    return Defect.objects.get(project=project, fingerprint=fingerprint)


def an_outage(
    run_id: str, *, address: str = "127.0.0.1:5432", failing: int = 6, passing: int = 3, **run
) -> dict:
    """A run where the database went away: many scenarios error alike, a few still pass."""
    refused = [{"message": f"connect ECONNREFUSED {address} (database service not healthy)"}]
    return a_report(
        run_id,
        [
            *[a_scenario(f"API-{n:03d}", "error", failures=refused) for n in range(failing)],
            *[a_scenario(f"SCH-{n:03d}", "passed") for n in range(passing)],
        ],
        **run,
    )


def two_sharing_a_reason(run_id: str = "run-1") -> dict:
    """BID-001 and BID-002 fail alike (too few for an incident in a run of 13); SCH-001 fails
    in words of its own."""
    shared = [a_failure(message="quota check skipped for org-b")]
    return a_report(
        run_id,
        [
            a_scenario("BID-001", "failed", failures=shared),
            a_scenario("BID-002", "failed", failures=shared),
            a_scenario("SCH-001", "failed"),
            *[a_scenario(f"SCH-{n:03d}", "passed") for n in range(2, 12)],
        ],
    )
