"""Reads for the run list, the run page and run comparison. Templates never query."""

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils import timezone

from runs.ingest import entity_text
from runs.links import invariant_urls, scenario_urls
from runs.models import FAILING, InvariantFailure, Project, Run, ScenarioResult, Status
from runs.parts import parts_received
from runs.run_results import ResultFilterForm, run_results

RUNS_PER_PAGE = 50
# A run page stays readable and fast whatever a report holds; the rest is counted, not drawn.
EVIDENCE_ROWS_SHOWN = 200
RESULTS_SHOWN = 300
# Evidence columns that name a tenant (org_id, recipient_org_id, tenantId, ...); a value other
# than the organization under test is a leak.
ORG_COLUMN_ENDINGS = ("org", "orgid", "organization", "organizationid", "tenant", "tenantid")
# Only ids made of these characters go into a shell command line a person will paste.
SHELL_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@+=,-]*")


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
    if "until" in filters and filters["until"] < date.max:
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


def run_to_act_on(project: Project, run_id: int) -> Run:
    """A run an action starts from (a rerun): its own row only, its project the one given."""
    run = get_object_or_404(Run, project=project, pk=run_id)
    run.project = project
    return run


def run_for_page(project: Project, run_id: int) -> Run:
    """`run_for_project`, with whether an earlier first attempt of its suite exists (the
    page then links to the comparison, which picks it) read in the same query."""
    earlier = _first_attempts_before(
        OuterRef("project_id"), OuterRef("suite_id"), OuterRef("started_at"), OuterRef("pk")
    )
    return get_object_or_404(
        Run.objects.select_related("suite", "project", "rerun_of").annotate(
            has_previous=Exists(earlier)
        ),
        project=project,
        pk=run_id,
    )


def run_page(
    run: Run, *, shown_apart: Collection[int] = (), listing: QueryDict | None = None
) -> dict[str, Any]:
    """What the run page shows of the run itself (its reruns and defects are added by their
    areas), for a run read by `run_for_page`. Results in `shown_apart` (those of an incident)
    are left out of the area groups; `listing` is the query of the list of every result
    (status tab, filter, sort, page)."""
    listing = listing or QueryDict()
    filters = ResultFilterForm(listing).filters()
    return {
        "project": run.project,
        "run": run,
        "groups": run_failure_groups(run, shown_apart=shown_apart),
        "results": run_results(run, filters, listing.get("page")),
        "has_previous": run.has_previous,
        "parts": parts_received(run) if run.in_parts else None,
    }


def _first_attempts_before(
    project_id: object, suite_id: object, started_at: object, pk: object
) -> QuerySet[Run]:
    # Values of a run, or references to the run of an outer query.
    return Run.objects.filter(
        project_id=project_id, suite_id=suite_id, rerun_of_external_id=""
    ).filter(Q(started_at__lt=started_at) | Q(started_at=started_at, pk__lt=pk))


def _earlier_first_attempts(run: Run) -> QuerySet[Run]:
    return _first_attempts_before(run.project_id, run.suite_id, run.started_at, run.pk)


def previous_run(run: Run) -> Run | None:
    """The default base of a comparison: the run of the same suite just before this one,
    a first attempt (a rerun of a few scenarios compares badly), on the same branch if any."""
    earlier = _earlier_first_attempts(run).select_related("suite").order_by("-started_at", "-id")
    return earlier.filter(branch=run.branch).first() or earlier.first()


def repro_line(project: Project, scenario_key: str) -> str | None:
    """The project's local repro command for one scenario, if it can be built safely."""
    if not project.repro_command or not SHELL_SAFE_ID.fullmatch(scenario_key):
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
    total_rows: int

    @property
    def hidden_rows(self) -> int:
        return self.total_rows - len(self.rows)


@dataclass
class FailureView:
    failure: InvariantFailure
    evidence: list[EvidenceTableView]
    # As pairs: a key named "items" must not shadow dict.items in a template.
    entity_ids: list[tuple[str, Any]]
    invariant_url: str = ""


@dataclass
class ResultView:
    result: ScenarioResult
    repro: str | None = None
    scenario_url: str = ""
    failures: list[FailureView] = field(default_factory=list)
    # What triage made of it (its defect), set by the area that shows the page with it.
    triage: Any = None


@dataclass
class AreaGroup:
    area: str
    results: list[ResultView]


def _cell(column: str, value: Any, organization: str) -> EvidenceCell:
    if value is None:
        return EvidenceCell(text="null", is_null=True)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    is_org_column = column.replace("_", "").replace("-", "").lower().endswith(ORG_COLUMN_ENDINGS)
    return EvidenceCell(
        text=text, is_foreign_org=bool(organization) and is_org_column and text != organization
    )


def evidence_tables(failure: InvariantFailure) -> list[EvidenceTableView]:
    tables = []
    for table in failure.evidence:
        all_rows = table.get("rows") or []
        rows = all_rows[:EVIDENCE_ROWS_SHOWN]
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
                total_rows=len(all_rows),
            )
        )
    return tables


def run_failure_groups(run: Run, *, shown_apart: Collection[int] = ()) -> list[AreaGroup]:
    """Failed and errored scenarios of a run with their invariant failures, by area prefix."""
    results = (
        ScenarioResult.objects.filter(run=run, status__in=FAILING)
        .exclude(pk__in=list(shown_apart))
        .select_related("scenario")
        .order_by("position")[:RESULTS_SHOWN]
    )
    # Links made for the whole list at once: a reverse per link cost more than the rest.
    scenario_url = scenario_urls(run.project.slug)
    invariant_url = invariant_urls(run.project.slug)
    views = {
        result.pk: ResultView(
            result=result,
            repro=repro_line(run.project, result.scenario.key),
            scenario_url=scenario_url(result.scenario.key),
        )
        for result in results
    }
    failures = (
        InvariantFailure.objects.filter(run=run, result_id__in=list(views))
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
                    entity_ids=[
                        (name, None if value is None else entity_text(value))
                        for name, value in failure.key_entity_ids.items()
                    ],
                    invariant_url=invariant_url(failure.invariant.key) if failure.invariant else "",
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
    now_skipped: list[ScenarioResult]
    no_longer_run: list[ScenarioResult]


Test = tuple[int, str]  # (scenario id, variant): a scenario in a variant


def _final_results(
    runs: list[Run], scenario_ids: set[int]
) -> dict[int, dict[Test, ScenarioResult]]:
    """Per run, one result per test (scenario and variant) of the given scenarios: its last
    attempt in the run. Both runs are read at once."""
    final: dict[int, dict[Test, ScenarioResult]] = {run.pk: {} for run in runs}
    results = ScenarioResult.objects.filter(
        run__in=[run.pk for run in runs], scenario_id__in=list(scenario_ids)
    ).select_related("scenario")
    for result in results.order_by("attempt", "position"):
        final[result.run_id][result.scenario_id, result.variant] = result
    return final


def _failing_scenarios(runs: list[Run]) -> set[int]:
    return set(
        ScenarioResult.objects.filter(run__in=[run.pk for run in runs], status__in=FAILING)
        .order_by()  # the default ordering would join the runs
        .values_list("scenario_id", flat=True)
    )


def run_comparison(run: Run, base: Run | None) -> Comparison:
    """What changed from `base` to `run`, judged on each test's last attempt; a test is a
    scenario in a variant, so failing on webkit only is told apart from failing everywhere."""
    runs = [run] if base is None else [run, base]
    finals = _final_results(runs, _failing_scenarios(runs))
    now = finals[run.pk]
    before = finals[base.pk] if base else {}

    def by_key(results: list[ScenarioResult]) -> list[ScenarioResult]:
        return sorted(results, key=lambda result: (result.scenario.key, result.variant))

    failing_now = [r for r in now.values() if r.status in FAILING]
    failing_before = {test: r for test, r in before.items() if r.status in FAILING}

    def failed_before(result: ScenarioResult) -> bool:
        return (result.scenario_id, result.variant) in failing_before

    return Comparison(
        run=run,
        base=base,
        newly_failing=by_key([r for r in failing_now if not failed_before(r)]),
        still_failing=by_key([r for r in failing_now if failed_before(r)]),
        newly_passing=by_key(
            [now[sid] for sid in failing_before if sid in now and now[sid].status == Status.PASSED]
        ),
        now_skipped=by_key(
            [now[sid] for sid in failing_before if sid in now and now[sid].status == Status.SKIPPED]
        ),
        no_longer_run=by_key([r for sid, r in failing_before.items() if sid not in now]),
    )
