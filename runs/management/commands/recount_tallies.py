from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from runs.models import InvariantTally, Project, ReasonTally, ScenarioDay, SuiteDay
from runs.rollups import rollups_recount
from runs.tallies import tallies_recount


class Command(BaseCommand):
    help = (
        "Count the reason and invariant tallies and the daily rollups again from the stored runs: "
        "after a restore, or after a rolling upgrade in which older processes stored reports "
        "beside newer ones."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", help="only this project's slug (default: every project)")

    def handle(self, *args: object, project: str | None, **options: object) -> None:
        projects = Project.objects.order_by("slug")
        if project:
            projects = projects.filter(slug=project)
            if not projects.exists():
                raise CommandError(f"no project {project!r}")
        for each in projects:
            # One project at a time: ingest of the others goes on meanwhile.
            with transaction.atomic():
                tallies_recount(each.pk)
                rollups_recount(each.pk)
            reasons = ReasonTally.objects.filter(project=each).count()
            invariants = InvariantTally.objects.filter(project=each).count()
            suite_days = SuiteDay.objects.filter(project=each).count()
            scenario_days = ScenarioDay.objects.filter(project=each).count()
            self.stdout.write(
                f"{each.slug}: {reasons} reason tallies, {invariants} invariant tallies, "
                f"{suite_days} suite days, {scenario_days} scenario days"
            )
