import os

from celery import Celery
from celery.signals import worker_process_init

from triage.worker_gc import worker_gc_tuned

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")

app = Celery("triage")
# The task modules are listed in settings (CELERY_IMPORTS), among them the one that writes a
# log line per task in the same format as the web's request lines.
app.config_from_object("django.conf:settings", namespace="CELERY")


@worker_process_init.connect
def _worker_gc_tuned(**_: object) -> None:
    # Each pool process, once it is forked and has loaded the tasks: as a web worker does.
    worker_gc_tuned()
