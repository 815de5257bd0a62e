import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage.settings")

app = Celery("triage")
# The task modules are listed in settings (CELERY_IMPORTS), among them the one that writes a
# log line per task in the same format as the web's request lines.
app.config_from_object("django.conf:settings", namespace="CELERY")
