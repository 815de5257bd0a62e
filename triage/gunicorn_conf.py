"""Gunicorn settings every way of serving Triage shares (`-c python:triage.gunicorn_conf`)."""

logger_class = "triage.gunicorn_logging.RedactingLogger"
# Threads, not one process per connection: a client that sends its request a byte a second
# holds one thread, not a whole worker, so the others (and /healthz) keep answering.
worker_class = "gthread"
threads = 8
# A request that has not arrived whole within this many seconds is dropped.
timeout = 30
graceful_timeout = 30
keepalive = 5
# Bounds on what a request line and its headers may be.
limit_request_line = 8190
limit_request_fields = 100
