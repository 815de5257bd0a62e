"""Reads for the run list, the run page and run comparison. Templates never query."""

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from runs.models import InvariantFailure, Project, Run, ScenarioResult, Status

RUNS_PER_PAGE = 50
BAD = [Status.FAILED, Status.ERROR]
# Evidence columns that name a tenant; a value other than the organization under test is a leak.
ORG_COLUMNS = {"org", "orgid", "organization", "organizationid", "tenant", "tenantid"}
# Only ids made of these characters go into a shell command line a person will paste.
SHELL_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/@+=,-]*$")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def runs_page(project: Project, filters: dict[str, Any], page_number: str | None) -> Page:
    runs = Run.objects.filter(project=project).select_related("suite")
    if "suite" in filters:
        runs = runs.filter(suite__name=filters["suite"])
    if "branch" in filters:
        runs = runs.filter(branch=filters["branch"])
    if "status" in filters:
        runs = runs.filter(status=filters["status"])
    if "since" in filters:
        runs = runs.filter(started_at__gte=_day_start(filters["since"]))
    if "until" in filters:
        runs = runs.filter(started_at__lt=_day_start(filters["until"] + timedelta(days=1)))
    if "q" in filters:
        text = filters["q"]
        runs = runs.filter(
            Q(external_id__icontains=text) | Q(commit__istartswith=text) | Q(branch__icontains=text)
        )
    runs = runs.order_by("-started_at", "-id")
    return Paginator(runs, RUNS_PER_PAGE).get_page(page_number)


def suite_names(project: Project) -> list[str]:
    return list(project.suites.order_by("name").values_list("name", flat=True))


def run_for_project(project: Project, run_id: int) -> Run:
    return get_object_or_404(
        Run.objects.select_related("suite", "project", "rerun_of"), project=project, pk=run_id
    )


def previous_run(run: Run) -> Run | None:
    """The run of the same suite just before this one: the default base of a comparison."""
    return (
        Run.objects.filter(project_id=run.project_id, suite_id=run.suite_id)
        .filter(Q(started_at__lt=run.started_at) | Q(started_at=run.started_at, pk__lt=run.pk))
        .select_related("suite")
        .order_by("-started_at", "-id")
        .first()
    )


def repro_line(project: Project, scenario_key: str) -> str | None:
    """The project's local repro command for one scenario, if it can be built safely."""
    if not project.repro_command or not SHELL_SAFE_ID.match(scenario_key):
        return None
    return project.repro_command.replace("{scenarioId}", scenario_key)


@dataclass(frozen=True)
class EvidenceCell:
    text: str
    is_null: bool = False
    # An org column whose value is another organization than the one under test.
    is_foreign_org: bool = False


@dataclass(frozen=True)
class EvidenceTableView:
    label: str
    columns: list[str]
    rows: list[list[EvidenceCell]]
    foreign_org_cells: int


@dataclass
class FailureView:
    failure: InvariantFailure
    evidence: list[EvidenceTableView]
    # As pairs: a key named "items" must not shadow dict.items in a template.
    entity_ids: list[tuple[str, Any]]


@dataclass
class ResultView:
    result: ScenarioResult
    repro: str | None = None
    failures: list[FailureView] = field(default_factory=list)


@dataclass
class AreaGroup:
    area: str
    results: list[ResultView]


def _cell(column: str, value: Any, organization: str) -> EvidenceCell:
    if value is None:
        return EvidenceCell(text="null", is_null=True)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    is_org_column = column.replace("_", "").replace("-", "").lower() in ORG_COLUMNS
    return EvidenceCell(
        text=text, is_foreign_org=bool(organization) and is_org_column and text != organization
    )


def evidence_tables(failure: InvariantFailure) -> list[EvidenceTableView]:
    tables = []
    for table in failure.evidence:
        rows = table.get("rows") or []
        columns: list[str] = []
        for row in rows:
            columns.extend(key for key in row if key not in columns)
        cells = [
            [
                _cell(column, row[column], failure.organization_under_test)
                if column in row
                else EvidenceCell(text="")
                for column in columns
            ]
            for row in rows
        ]
        tables.append(
            EvidenceTableView(
                label=table.get("label") or "",
                columns=columns,
                rows=cells,
                foreign_org_cells=sum(cell.is_foreign_org for row in cells for cell in row),
            )
        )
    return tables


def run_failure_groups(run: Run) -> list[AreaGroup]:
    """Failed and errored scenarios of a run with their invariant failures, by area prefix."""
    results = (
        ScenarioResult.objects.filter(run=run, status__in=BAD)
        .select_related("scenario")
        .order_by("position")
    )
    views = {
        result.pk: ResultView(result=result, repro=repro_line(run.project, result.scenario.key))
        for result in results
    }
    failures = (
        InvariantFailure.objects.filter(run=run)
        .select_related("invariant")
        .order_by("result_id", "position")
    )
    for failure in failures:
        view = views.get(failure.result_id)
        if view is not None:
            view.failures.append(
                FailureView(
                    failure=failure,
                    evidence=evidence_tables(failure),
                    entity_ids=list(failure.key_entity_ids.items()),
                )
            )
    groups: dict[str, list[ResultView]] = {}
    for view in views.values():
        groups.setdefault(view.result.scenario.area or "Other", []).append(view)
    return [AreaGroup(area=area, results=items) for area, items in sorted(groups.items())]


@dataclass
class Comparison:
    run: Run
    base: Run | None
    newly_failing: list[ScenarioResult]
    still_failing: list[ScenarioResult]
    newly_passing: list[ScenarioResult]
    no_longer_run: list[ScenarioResult]


def run_comparison(run: Run, base: Run | None) -> Comparison:
    """What changed from `base` to `run`: newly failing, still failing, newly passing."""
    failing = list(
        ScenarioResult.objects.filter(run=run, status__in=BAD)
        .select_related("scenario")
        .order_by("scenario__key")
    )
    if base is None:
        return Comparison(run, None, failing, [], [], [])
    base_failing = {
        result.scenario_id: result
        for result in ScenarioResult.objects.filter(run=base, status__in=BAD).select_related(
            "scenario"
        )
    }
    now_status = dict(
        ScenarioResult.objects.filter(run=run, scenario_id__in=list(base_failing)).values_list(
            "scenario_id", "status"
        )
    )
    failing_ids = {result.scenario_id for result in failing}
    by_key = sorted(base_failing.values(), key=lambda r: r.scenario.key)
    return Comparison(
        run=run,
        base=base,
        newly_failing=[r for r in failing if r.scenario_id not in base_failing],
        still_failing=[r for r in failing if r.scenario_id in base_failing],
        newly_passing=[r for r in by_key if now_status.get(r.scenario_id) == Status.PASSED],
        no_longer_run=[
            r
            for r in by_key
            if r.scenario_id not in now_status and r.scenario_id not in failing_ids
        ],
    )
