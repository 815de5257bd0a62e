"""Gunicorn settings every way of serving Triage shares (`-c python:triage.gunicorn_conf`)."""

logger_class = "triage.gunicorn_logging.RedactingLogger"
