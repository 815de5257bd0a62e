"""A realistic demo history: 60 days of nightly `full` and per-PR `smoke` runs.

It contains what a team would see in real life: a tenant leak whose evidence shows a foreign
org, flaky scenarios that pass and fail on one commit, a failure with no invariant id, an
infra outage night, and a smoke suite creeping over its 10-minute budget. Every report is
deterministic for its run id, so loading twice stores nothing twice.
"""

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from runs.schema import RunReport

DAYS = 60
AREAS = {
    "SCH": (
        "scheduling",
        [
            "weekly schedule respects caps",
            "DST week boundary keeps shifts",
            "eligibility excludes suspended drivers",
            "cap resets on Monday",
        ],
    ),
    "BID": (
        "bidding",
        [
            "competitive resolve picks one winner",
            "instant bid closes window",
            "emergency bid notifies eligible drivers",
            "bid-open fan-out stays in org",
        ],
    ),
    "NOS": (
        "no-shows",
        [
            "no-show detected after cutoff",
            "emergency reassignment fills slot",
            "manager alerted on repeat no-show",
        ],
    ),
    "HLT": (
        "health",
        ["streak resets after miss", "intervention fires at threshold", "score recomputed nightly"],
    ),
    "API": (
        "api",
        [
            "cross-org read is denied",
            "driver sees own assignments only",
            "manager journey end to end",
        ],
    ),
    "UI": ("ui", ["dashboard shows fresh state", "bid board updates live", "login journey"]),
    "ADV": (
        "adversarial",
        [
            "double submit creates one bid",
            "concurrent resolve is idempotent",
            "replayed webhook is ignored",
        ],
    ),
}
SCENARIOS_PER_AREA = {"SCH": 20, "BID": 20, "NOS": 15, "HLT": 15, "API": 20, "UI": 15, "ADV": 15}
FLAKY = {"ADV-007": 0.08, "HLT-005": 0.05}
LEAK_SCENARIO = "BID-004"
GAP_SCENARIO = "UI-009"


@dataclass(frozen=True)
class DemoScenario:
    scenario_id: str
    title: str
    file: str
    in_smoke: bool
    base_ms: int


def demo_catalog() -> list[DemoScenario]:
    catalog = []
    for area, count in SCENARIOS_PER_AREA.items():
        folder, titles = AREAS[area]
        for number in range(1, count + 1):
            scenario_id = f"{area}-{number:03d}"
            in_smoke = number % 3 == 1 or scenario_id in (LEAK_SCENARIO, *FLAKY)
            rng = random.Random(scenario_id)
            catalog.append(
                DemoScenario(
                    scenario_id=scenario_id,
                    title=f"{titles[(number - 1) % len(titles)]} (case {number})",
                    file=f"tests/integration/{folder}/{scenario_id}"
                    f"{'.smoke' if in_smoke else ''}.test.ts",
                    in_smoke=in_smoke,
                    base_ms=rng.randint(1500, 16000),
                )
            )
    return catalog


def _commit(seed: str) -> str:
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()[:9]


def _leak_failure(day: date) -> dict[str, Any]:
    window = f"bw-{day.day + 10}"
    return {
        "invariantId": "TENANT-004",
        "organizationUnderTest": "org-a",
        "keyEntityIds": {"orgId": "org-a", "bidWindowId": window, "driverId": "drv-a-2"},
        "message": "bid-open notification reached a driver of org-b",
        "expected": "notifications for the bid window only go to drivers of org-a",
        "observed": "3 notifications, 1 addressed to drv-b-1 of org-b",
        "evidence": [
            {
                "label": f"notifications for {window}",
                "rows": [
                    {"id": "n-1", "org_id": "org-a", "user_id": "drv-a-2", "type": "bid_open"},
                    {"id": "n-2", "org_id": "org-a", "user_id": "drv-a-5", "type": "bid_open"},
                    {"id": "n-3", "org_id": "org-b", "user_id": "drv-b-1", "type": "bid_open"},
                ],
            },
            {
                "label": "notification counts by org",
                "rows": [{"org_id": "org-a", "count": 2}, {"org_id": "org-b", "count": 1}],
            },
        ],
        "artifacts": [
            f"logs/nightly/{day.isoformat()}/ci-artifacts/report.json",
            f"logs/nightly/{day.isoformat()}/db-snapshot/notifications.csv",
        ],
    }


def _flaky_failure(scenario_id: str) -> dict[str, Any]:
    if scenario_id == "ADV-007":
        return {
            "invariantId": "IDEMP-002",
            "organizationUnderTest": "org-a",
            "keyEntityIds": {"orgId": "org-a", "assignmentId": "asg-311"},
            "message": "replayed webhook produced a second transition",
            "expected": {"transitions": 1},
            "observed": {"transitions": 2},
            "evidence": [
                {
                    "label": "assignment transitions for asg-311",
                    "rows": [
                        {
                            "id": "t-1",
                            "org_id": "org-a",
                            "from": "open",
                            "to": "assigned",
                            "dedupe_key": "wh-77",
                        },
                        {
                            "id": "t-2",
                            "org_id": "org-a",
                            "from": "open",
                            "to": "assigned",
                            "dedupe_key": "wh-77",
                        },
                    ],
                }
            ],
            "artifacts": ["ci-artifacts/adv/ADV-007.log"],
        }
    return {
        "invariantId": "STATE-003",
        "organizationUnderTest": "org-c",
        "keyEntityIds": {"orgId": "org-c", "driverId": "drv-c-9"},
        "message": "streak still counted after a missed shift",
        "expected": "streak = 0",
        "observed": "streak = 4",
        "evidence": [
            {
                "label": "health streak",
                "rows": [
                    {"driver_id": "drv-c-9", "org_id": "org-c", "streak": 4, "last_miss": None}
                ],
            }
        ],
        "artifacts": [],
    }


def _gap_failure() -> dict[str, Any]:
    return {
        "message": "Timeout 30000ms exceeded waiting for locator('[data-test=bid-board]')",
        "artifacts": ["ci-artifacts/ui/UI-009/trace.zip", "ci-artifacts/ui/UI-009/screenshot.png"],
    }


def _nos_failure(day: date) -> dict[str, Any]:
    return {
        "invariantId": "STATE-002",
        "organizationUnderTest": "org-a",
        "keyEntityIds": {"orgId": "org-a", "assignmentId": f"asg-{day.toordinal() % 997}"},
        "message": "assignment stayed 'confirmed' after the no-show cutoff",
        "expected": "status = no_show",
        "observed": "status = confirmed",
        "evidence": [
            {
                "label": "assignment",
                "rows": [
                    {
                        "id": f"asg-{day.toordinal() % 997}",
                        "org_id": "org-a",
                        "status": "confirmed",
                        "cutoff_at": "2026-03-29T01:30:00Z",
                    }
                ],
            }
        ],
        "artifacts": [f"logs/nightly/{day.isoformat()}/ci-artifacts/report.json"],
    }


def _scenario_outcome(
    item: DemoScenario,
    *,
    day: date,
    days_ago: int,
    suite: str,
    rng: random.Random,
    infra_outage: bool,
) -> dict[str, Any]:
    duration = int(item.base_ms * rng.uniform(0.8, 1.3))
    entry: dict[str, Any] = {
        "scenarioId": item.scenario_id,
        "title": item.title,
        "file": item.file,
        "status": "passed",
        "durationMs": duration,
    }
    failures: list[dict[str, Any]] = []
    if infra_outage and item.scenario_id[:3] in ("SCH", "BID", "NOS", "API"):
        entry["status"] = "error"
        failures.append(
            {"message": "connect ECONNREFUSED 127.0.0.1:5432 (database service not healthy)"}
        )
    elif item.scenario_id == LEAK_SCENARIO and 6 <= days_ago <= 12:
        failures.append(_leak_failure(day))
    elif (
        item.scenario_id in FLAKY
        and (suite == "smoke" or days_ago > 12)
        and rng.random() < FLAKY[item.scenario_id]
    ):
        failures.append(_flaky_failure(item.scenario_id))
    elif item.scenario_id == GAP_SCENARIO and suite == "full" and days_ago in (14, 27, 44):
        entry["status"] = "error"
        failures.append(_gap_failure())
    elif item.scenario_id == "NOS-003" and suite == "full" and 15 <= days_ago <= 18:
        failures.append(_nos_failure(day))
    elif item.scenario_id == "UI-004" and rng.random() < 0.02:
        entry["status"] = "skipped"
    if failures:
        entry["failures"] = failures
        entry["status"] = entry["status"] if entry["status"] == "error" else "failed"
    return entry


def _report(
    *,
    run_id: str,
    suite: str,
    started: datetime,
    scenarios: list[dict[str, Any]],
    target_ms: int,
    branch: str,
    commit: str,
    trigger: str,
    rerun_of: str | None = None,
) -> RunReport:
    return RunReport.model_validate(
        {
            "run": {
                "id": run_id,
                "suite": suite,
                "url": f"https://ci.example.test/acme/dispatch/actions/runs/{run_id}",
                "branch": branch,
                "commit": commit,
                "trigger": trigger,
                "startedAt": started.isoformat(),
                "finishedAt": (started + timedelta(milliseconds=target_ms)).isoformat(),
                "rerunOf": rerun_of,
            },
            "scenarios": scenarios,
        }
    )


def demo_reports(today: date) -> Iterator[RunReport]:
    """Reports of the 60 days before `today`, oldest first."""
    catalog = demo_catalog()
    smoke = [item for item in catalog if item.in_smoke]
    for days_ago in range(DAYS, 0, -1):
        day = today - timedelta(days=days_ago)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        rng = random.Random(f"full-{day.isoformat()}")
        outage = days_ago == 21
        scenarios = [
            _scenario_outcome(
                item, day=day, days_ago=days_ago, suite="full", rng=rng, infra_outage=outage
            )
            for item in catalog
        ]
        full_ms = int(rng.uniform(27, 33) * 60_000) + (5 * 60_000 if days_ago % 13 == 0 else 0)
        yield _report(
            run_id=f"nightly-{day.isoformat()}",
            suite="full",
            started=midnight + timedelta(hours=2),
            scenarios=scenarios,
            target_ms=full_ms,
            branch="main",
            commit=_commit(f"main-{day.isoformat()}"),
            trigger="schedule",
        )
        # The smoke suite grows slowly from ~7 to ~11.5 minutes over the 60 days.
        smoke_minutes = 7 + 4.5 * (DAYS - days_ago) / DAYS
        for slot, hour in enumerate((10, 13, 16)):
            rng = random.Random(f"smoke-{day.isoformat()}-{slot}")
            # Numbered from the date alone, so a run keeps its id whatever day the demo loads.
            pr = (day.toordinal() % 10_000) * 3 + slot
            run_id = f"pr-{pr}-{day.isoformat()}-1"
            commit = _commit(run_id)
            scenarios = [
                _scenario_outcome(
                    item, day=day, days_ago=days_ago, suite="smoke", rng=rng, infra_outage=False
                )
                for item in smoke
            ]
            smoke_ms = int((smoke_minutes + rng.uniform(-0.4, 0.4)) * 60_000)
            started = midnight + timedelta(hours=hour)
            branch = f"feature/pr-{pr}"
            yield _report(
                run_id=run_id,
                suite="smoke",
                started=started,
                scenarios=scenarios,
                target_ms=smoke_ms,
                branch=branch,
                commit=commit,
                trigger="pull_request",
            )
            flaky_failed = [
                s for s in scenarios if s["scenarioId"] in FLAKY and s["status"] == "failed"
            ]
            if flaky_failed:
                # The PR author reruns the failed scenarios on the same commit and they pass:
                # the tell of a flake.
                rerun = [dict(s, status="passed", failures=[], attempt=2) for s in flaky_failed]
                yield _report(
                    run_id=f"pr-{pr}-{day.isoformat()}-2",
                    suite="smoke",
                    started=started + timedelta(minutes=20),
                    scenarios=rerun,
                    target_ms=sum(s["durationMs"] for s in rerun) + 40_000,
                    branch=branch,
                    commit=commit,
                    trigger="rerun",
                    rerun_of=run_id,
                )
