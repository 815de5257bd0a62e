"""Runs for the page tests: stored as the webhook stores them, at a number of days ago;
nightly `full` runs of main and `smoke` runs of feature branches."""

from datetime import UTC, datetime, timedelta

from runs.models import Run
from tests.builders import a_report, a_scenario, a_stored_run


def ingest(project, report: dict) -> Run:
    """The report stored as the webhook stores it, not yet grouped into defects."""
    return a_stored_run(project, report)


def at(days_ago: float, hour: int = 2) -> dict[str, str]:
    start = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(
        days=days_ago
    )
    return {
        "startedAt": start.isoformat(),
        "finishedAt": (start + timedelta(minutes=30)).isoformat(),
    }


def nightly(project, day: int, scenarios: list[dict], **run) -> Run:
    return a_stored_run(
        project,
        a_report(
            f"nightly-{day}", scenarios, suite="full", branch="main", commit=f"c{day:04d}",
            trigger="schedule", **at(day), **run,
        ),
    )  # fmt: skip


def smoke(project, name: str, days_ago: float, scenarios: list[dict], **run) -> Run:
    """A smoke run, of a feature branch named after it unless `branch` says otherwise."""
    run.setdefault("branch", f"feature/{name}")
    return a_stored_run(
        project, a_report(name, scenarios, suite="smoke", **at(days_ago, 12), **run)
    )


def green(*ids: str) -> list[dict]:
    return [a_scenario(scenario_id, "passed") for scenario_id in ids]
