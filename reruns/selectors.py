"""Reads for the rerun panels on the run page and the defect page."""

from typing import Any

from django.urls import reverse

from defects.models import Defect
from reruns.models import Dispatcher, Rerun
from runs.access import ProjectAccess
from runs.models import Run

RERUNS_SHOWN = 20


def _recent(reruns: Any) -> list[Rerun]:
    return list(
        reruns.select_related("requested_by", "report_run").order_by("-created_at")[:RERUNS_SHOWN]
    )


def _panel(access: ProjectAccess, reruns: list[Rerun], poll_url: str) -> dict[str, Any]:
    return {
        "project": access.project,
        "reruns": reruns,
        "poll_url": poll_url,
        "polling": any(rerun.is_active for rerun in reruns),
        "can_act": access.can_triage,
        "has_dispatcher": Dispatcher.objects.filter(project=access.project).exists(),
    }


def run_panel(access: ProjectAccess, run: Run) -> dict[str, Any]:
    poll = reverse("run_reruns", kwargs={"slug": access.project.slug, "run_id": run.pk})
    return _panel(access, _recent(Rerun.objects.filter(source_run=run)), poll)


def defect_panel(access: ProjectAccess, defect: Defect) -> dict[str, Any]:
    poll = reverse("defect_reruns", kwargs={"slug": access.project.slug, "defect_id": defect.pk})
    return {
        **_panel(access, _recent(Rerun.objects.filter(defect=defect)), poll),
        "panel_kind": "defect",
    }
