"""Search a project's failures by scenario id, invariant id or any key entity id value."""

from dataclasses import dataclass, field

from runs.models import FailureEntity, Invariant, Project, Scenario

LIMIT = 50


@dataclass
class SearchResults:
    query: str
    scenarios: list[Scenario] = field(default_factory=list)
    invariants: list[Invariant] = field(default_factory=list)
    entity_hits: list[FailureEntity] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.scenarios or self.invariants or self.entity_hits)


def project_search(project: Project, query: str) -> SearchResults:
    query = query.strip()
    if not query:
        return SearchResults(query="")
    return SearchResults(
        query=query,
        scenarios=list(
            Scenario.objects.filter(project=project, key__icontains=query).order_by("key")[:LIMIT]
        ),
        invariants=list(
            Invariant.objects.filter(project=project, key__icontains=query).order_by("key")[:LIMIT]
        ),
        # Entity ids are matched exactly: they are opaque ids such as asg-311.
        entity_hits=list(
            FailureEntity.objects.filter(project=project, value=query)
            .select_related("failure", "failure__run", "failure__scenario", "failure__invariant")
            .order_by("-started_at", "-failure_id")[:LIMIT]
        ),
    )
