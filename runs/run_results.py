"""Every result of one run, as the run page lists them: by status tab (with counts), a filter
on id and title, sorted by order or duration, a page at a time; and counts per area."""

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from runs.ingest import flaky_within_run
from runs.models import Run, ScenarioResult, Status

RESULTS_PER_PAGE = 100
TABS = ("all", "failed", "error", "passed", "skipped", "flaky")
SORTS = {"order": ("position",), "slowest": ("-duration_ms", "position")}


class ResultFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[(tab, tab) for tab in TABS], required=False)
    q = forms.CharField(max_length=200, required=False, strip=True)
    sort = forms.ChoiceField(choices=[(key, key) for key in SORTS], required=False)

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            "status": cleaned.get("status") or "all",
            "q": "".join(ch for ch in cleaned.get("q") or "" if ch.isprintable()),
            "sort": cleaned.get("sort") or "order",
        }


@dataclass(frozen=True)
class AreaCount:
    area: str
    passed: int
    failing: int
    skipped: int

    @property
    def total(self) -> int:
        return self.passed + self.failing + self.skipped

    @property
    def skipped_from(self) -> int:
        """Where the skipped part of the bar starts (passed, then failing, then skipped)."""
        return self.passed + self.failing


@dataclass
class RunResults:
    run: Run
    page: Page
    filters: dict[str, Any]
    tabs: list[tuple[str, int]]

    @cached_property
    def areas(self) -> list[AreaCount]:
        # Read only when drawn: a list served from the fragment cache needs none of it.
        return _area_counts(self.run)

    @property
    def cache_key(self) -> str:
        """The rendered list's key: a run's results change only when a part of it arrives.
        When it was received tells this run from one that had its id in a database since
        restored or recreated beside the same cache."""
        run = self.run
        wanted = "\x1f".join(
            [
                run.received_at.isoformat(),
                self.filters["status"],
                self.filters["sort"],
                self.filters["q"],
                str(self.page.number),
            ]
        )
        digest = hashlib.sha256(wanted.encode()).hexdigest()[:32]
        return f"run-results:v1:{run.pk}:{run.parts_received}:{digest}"


def _flaky_ids(run: Run) -> list[int]:
    rows = list(
        ScenarioResult.objects.filter(run=run).values_list(
            "pk", "scenario_id", "variant", "attempt", "status"
        )
    )
    flaky = flaky_within_run(((s, v), a, st) for _, s, v, a, st in rows)
    return [pk for pk, s, v, _, _ in rows if (s, v) in flaky]


def run_results(run: Run, filters: dict[str, Any], page_number: str | None) -> RunResults:
    results = ScenarioResult.objects.filter(run=run)
    status = filters["status"]
    if status == "flaky":
        results = results.filter(pk__in=_flaky_ids(run) if run.flaky_count else [])
    elif status != "all":
        results = results.filter(status=status)
    if filters["q"]:
        results = results.filter(
            Q(scenario__key__icontains=filters["q"]) | Q(title__icontains=filters["q"])
        )
    ordered = results.select_related("scenario").order_by(*SORTS[filters["sort"]])
    counts = {
        "all": run.total_count,
        "failed": run.failed_count,
        "error": run.error_count,
        "passed": run.passed_count,
        "skipped": run.skipped_count,
        "flaky": run.flaky_count,
    }
    paginator = Paginator(ordered, RESULTS_PER_PAGE)
    if status in counts and status != "flaky" and not filters["q"]:
        # The run stores its counts: the list need not count its results again.
        paginator.count = counts[status]
    return RunResults(
        run=run,
        page=paginator.get_page(page_number),
        filters=filters,
        tabs=[(tab, counts[tab]) for tab in TABS if counts[tab] or tab in ("all", status)],
    )


def _area_counts(run: Run) -> list[AreaCount]:
    kept = run.area_counts
    # Kept at ingest, a run of 10,000 results is not counted again on its first view. Counts
    # that do not add up to the run's (none kept, or a part stored by a process that did not
    # keep them) are counted from the results instead.
    kept_total = sum(n for counts in (kept or {}).values() for n in counts.values())
    if kept is None or kept_total != run.total_count:
        kept = _area_counts_of_results(run)
    per_area = {area or "Other": counts for area, counts in kept.items()}
    return [
        AreaCount(
            area,
            counts.get(Status.PASSED, 0),
            counts.get(Status.FAILED, 0) + counts.get(Status.ERROR, 0),
            counts.get(Status.SKIPPED, 0),
        )
        for area, counts in sorted(per_area.items())
    ]


def _area_counts_of_results(run: Run) -> dict[str, dict[str, int]]:
    """A run's results counted per area and status, as `Run.area_counts` keeps them."""
    per_area: dict[str, dict[str, int]] = {}
    for row in (
        # The catalog rows of the run's own project only (a result's scenario is always one):
        # the join then reads that project's catalog, not every project's.
        ScenarioResult.objects.filter(run=run, scenario__project_id=run.project_id)
        .values("scenario__area", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts = per_area.setdefault(row["scenario__area"], {})
        counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
    return per_area
