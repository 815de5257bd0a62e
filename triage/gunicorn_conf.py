"""Gunicorn settings every way of serving Triage shares (`-c python:triage.gunicorn_conf`)."""

from triage.worker_gc import worker_gc_tuned

logger_class = "triage.gunicorn_logging.RedactingLogger"
# Threads, not one process per connection: a client that sends its request a byte a second
# holds one thread, not a whole worker, so the others (and /healthz) keep answering.
worker_class = "gthread"
threads = 8
# A worker stuck on one request this many seconds is restarted (gunicorn's own default, said
# here because the slow-client defence leans on it).
timeout = 30
keepalive = 5
# Twice gunicorn's default: long query strings (repeated variants, filters) reach Triage, whose
# own check answers an overlong address with a 414 that says so.
limit_request_line = 8190


def post_worker_init(worker: object) -> None:
    worker_gc_tuned()
