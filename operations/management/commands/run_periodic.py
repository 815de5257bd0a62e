import time

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Run the periodic jobs of CELERY_BEAT_SCHEDULE in this process, for the embedded mode "
        "where no Celery beat runs. With Redis, use `celery -A triage worker --beat` instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=60.0, help="seconds between rounds")
        parser.add_argument("--once", action="store_true", help="run one round and stop")

    def handle(self, *args: object, every: float, once: bool, **options: object) -> None:
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            self.stderr.write("REDIS_URL is set: Celery beat runs these jobs; nothing to do.")
            return
        # The schedule names its tasks; loading the task modules registers them.
        current_app.loader.import_default_modules()
        jobs = {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
        while True:
            done = {name: current_app.tasks[task]() for name, task in jobs.items()}
            self.stdout.write("; ".join(f"{name} {result}" for name, result in done.items()))
            if once:
                return
            time.sleep(every)
