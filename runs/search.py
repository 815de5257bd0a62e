"""Search a project: scenario and invariant ids, words of titles and failure reasons, and any
id value a failure carries (a key entity id, or a cell of its evidence rows)."""

from dataclasses import dataclass, field

from django.db.models import Q, Sum

from runs.models import FailureEntity, FailureReason, Invariant, Project, Scenario

LIMIT = 50


@dataclass
class SearchResults:
    query: str
    scenarios: list[Scenario] = field(default_factory=list)
    invariants: list[Invariant] = field(default_factory=list)
    reasons: list[FailureReason] = field(default_factory=list)
    entity_hits: list[FailureEntity] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.scenarios or self.invariants or self.reasons or self.entity_hits)


def exact_page(project: Project, query: str) -> tuple[str, str] | None:
    """("scenario" or "invariant", key) when the query is exactly one id: its page is the
    answer."""
    query = query.strip()
    if not query:
        return None
    scenario = Scenario.objects.filter(project=project, key__iexact=query).first()
    if scenario is not None:
        return "scenario", scenario.key
    invariant = Invariant.objects.filter(project=project, key__iexact=query).first()
    if invariant is not None:
        return "invariant", invariant.key
    return None


def project_search(project: Project, query: str) -> SearchResults:
    query = query.strip()
    if not query:
        return SearchResults(query="")
    return SearchResults(
        query=query,
        scenarios=list(
            Scenario.objects.filter(project=project)
            .filter(Q(key__icontains=query) | Q(title__icontains=query))
            .order_by("key")[:LIMIT]
        ),
        invariants=list(
            Invariant.objects.filter(project=project, key__icontains=query).order_by("key")[:LIMIT]
        ),
        # Words of messages: a reason is a message with the varying parts taken out, so a
        # few reasons stand for thousands of failures.
        reasons=list(
            FailureReason.objects.filter(project=project, text__icontains=query)
            .annotate(failure_count=Sum("tallies__failure_count", default=0))
            .order_by("-failure_count")[:LIMIT]
        ),
        # Ids are matched exactly: they are opaque values such as asg-311.
        entity_hits=list(
            FailureEntity.objects.filter(project=project, value=query)
            .select_related("failure", "failure__run", "failure__scenario", "failure__invariant")
            .order_by("-started_at", "-failure_id")[:LIMIT]
        ),
    )
