import gc
import os

from celery import Celery
from celery.signals import worker_before_create_process, worker_process_init

from triage.worker_gc import worker_gc_tuned

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")

app = Celery("triage")
# The task modules are listed in settings (CELERY_IMPORTS), among them the one that writes a
# log line per task in the same format as the web's request lines.
app.config_from_object("django.conf:settings", namespace="CELERY")


@worker_before_create_process.connect
def _pool_parent_gc_tuned(**_: object) -> None:
    # In the pool's parent, before its first fork: what it loaded (the app, the tasks) is
    # frozen there, so a child's collections leave those objects alone. A child collecting
    # them would write to every one and copy the memory pages it shares with the parent.
    # Once only: a child replacing one that died shares what the first freeze kept, and what
    # the parent holds later (messages in flight) must stay collectable.
    if not gc.get_freeze_count():
        worker_gc_tuned()


@worker_process_init.connect
def _worker_gc_tuned(**_: object) -> None:
    # Each pool process (the worker itself with --pool=solo) once it has loaded the tasks, as
    # a web worker does; in a forked child only what it made since the fork is left to freeze.
    worker_gc_tuned()
