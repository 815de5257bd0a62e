import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from triage.tasks import escalate_defects, rerun_sweep, sweep


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (escalation, sweep) in this process, for the embedded mode "
        "where no Celery beat runs. With Redis, use `celery -A triage worker --beat` instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=60.0, help="seconds between rounds")
        parser.add_argument("--once", action="store_true", help="run one round and stop")

    def handle(self, *args: object, every: float, once: bool, **options: object) -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            self.stderr.write("REDIS_URL is set: Celery beat runs these jobs; nothing to do.")
            return
        while True:
            escalated = escalate_defects()
            caught_up = sweep()
            reruns = rerun_sweep()
            self.stdout.write(f"escalated {escalated}; sweep {caught_up}; reruns {reruns}")
            if once:
                return
            time.sleep(every)
