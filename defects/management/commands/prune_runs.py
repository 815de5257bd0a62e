import re
import time
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from defects.models import Defect, DefectOccurrence
from runs.models import FailureEntity, InvariantFailure, Run, ScenarioResult
from runs.rollups import rollups_of_runs, rollups_subtract
from runs.tallies import tallies_of_runs, tallies_subtract

AGE = re.compile(r"^(\d+)([dh])$")


def _delete_leaves(run_ids: list[int]) -> dict[str, int]:
    """The big child tables go by set-based DELETEs, leaves first: Django's cascade would
    load every result of a batch into memory to find its children."""
    quote = connection.ops.quote_name
    failures = quote(InvariantFailure._meta.db_table)
    placeholders = ", ".join(["%s"] * len(run_ids))
    in_batch = f"run_id IN ({placeholders})"
    of_failures = f"failure_id IN (SELECT id FROM {failures} WHERE {in_batch})"  # noqa: S608
    tables = {
        "occurrences": (DefectOccurrence, in_batch),
        "entity ids": (FailureEntity, of_failures),
        "failures": (InvariantFailure, in_batch),
        "results": (ScenarioResult, in_batch),
    }
    counts = {}
    with connection.cursor() as cursor:
        for name, (model, where) in tables.items():
            table = quote(model._meta.db_table)
            # Table names come from model metadata; the ids are parameters.
            cursor.execute(f"DELETE FROM {table} WHERE {where}", list(run_ids))  # noqa: S608
            counts[name] = cursor.rowcount
    return counts


class Command(BaseCommand):
    help = (
        "Delete runs older than an age, in small batches (no long locks). Defects stay, and so "
        "does each defect's last run with its evidence."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="e.g. 180d or 36h")
        parser.add_argument("--batch", type=int, default=200, help="runs per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
        parser.add_argument("--pause", type=float, default=0.05, help="seconds between batches")

    def handle(
        self, *args: object, older_than: str, batch: int, dry_run: bool, pause: float, **_: object
    ) -> None:
        cutoff = self._cutoff(older_than)
        kept = set(Defect.objects.exclude(last_run=None).values_list("last_run_id", flat=True))
        candidates = Run.objects.filter(started_at__lt=cutoff).exclude(pk__in=kept)
        when = f"older than {cutoff:%Y-%m-%d %H:%M} UTC"
        if dry_run:
            ids = list(candidates.values_list("pk", flat=True))
            results = ScenarioResult.objects.filter(run_id__in=ids).count()
            self.stdout.write(f"Would delete {len(ids)} runs and {results} results {when}.")
            return
        totals = {"runs": 0, "results": 0, "failures": 0, "entity ids": 0, "occurrences": 0}
        while True:
            ids = list(candidates.order_by("started_at").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            with transaction.atomic():
                gone = tallies_of_runs(ids)
                gone_days = rollups_of_runs(ids)
                for name, count in _delete_leaves(ids).items():
                    totals[name] += count
                # What still points at the runs (reruns, flakes, shared causes) is small and
                # follows each model's on_delete through Django's own delete.
                Run.objects.filter(pk__in=ids).delete()
                totals["runs"] += len(ids)
                # Last, as in ingest: the tally and rollup rows stay locked only until the
                # commit.
                tallies_subtract(gone)
                rollups_subtract(gone_days)
            time.sleep(pause)
        summary = ", ".join(f"{count} {name}" for name, count in totals.items())
        self.stdout.write(f"Deleted {summary} {when}; kept the last run of {len(kept)} defects.")

    @staticmethod
    def _cutoff(older_than: str) -> datetime:
        match = AGE.match(older_than)
        if not match:
            raise CommandError("--older-than takes a number of days or hours, e.g. 180d")
        amount, unit = int(match.group(1)), match.group(2)
        return timezone.now() - (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))
