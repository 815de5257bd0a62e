"""Reads for the history pages. Views call these; templates never query."""

import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from runs.models import InvariantFailure, Project, Run, ScenarioResult, Status

RUNS_PER_PAGE = 50
# Evidence columns that name a tenant; a value other than the organization under test is a leak.
ORG_COLUMNS = {"org", "orgid", "organization", "organizationid", "tenant", "tenantid"}


def projects_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def project_for_user(user: AbstractBaseUser | AnonymousUser, slug: str) -> Project:
    """The project, or 404 for one that does not exist or that the user is not in."""
    return get_object_or_404(projects_visible_to(user), slug=slug)


def project_list(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    latest = Run.objects.filter(project=OuterRef("pk")).order_by("-started_at", "-id")
    return projects_visible_to(user).annotate(
        latest_run_id=Subquery(latest.values("id")[:1]),
        latest_run_status=Subquery(latest.values("status")[:1]),
        latest_run_started_at=Subquery(latest.values("started_at")[:1]),
        latest_run_suite=Subquery(latest.values("suite__name")[:1]),
    )


def runs_page(project: Project, page_number: str | int | None) -> Page:
    runs = (
        Run.objects.filter(project=project).select_related("suite").order_by("-started_at", "-id")
    )
    return Paginator(runs, RUNS_PER_PAGE).get_page(page_number)


def run_for_project(project: Project, run_id: int) -> Run:
    return get_object_or_404(
        Run.objects.select_related("suite", "project", "rerun_of"), project=project, pk=run_id
    )


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


@dataclass
class ResultView:
    result: ScenarioResult
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
        ScenarioResult.objects.filter(run=run, status__in=[Status.FAILED, Status.ERROR])
        .select_related("scenario")
        .order_by("position")
    )
    views = {result.pk: ResultView(result=result) for result in results}
    failures = (
        InvariantFailure.objects.filter(run=run)
        .select_related("invariant")
        .order_by("result_id", "position")
    )
    for failure in failures:
        view = views.get(failure.result_id)
        if view is not None:
            view.failures.append(FailureView(failure=failure, evidence=evidence_tables(failure)))
    groups: dict[str, list[ResultView]] = {}
    for view in views.values():
        groups.setdefault(view.result.scenario.area or "Other", []).append(view)
    return [AreaGroup(area=area, results=items) for area, items in sorted(groups.items())]
