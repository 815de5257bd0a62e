"""Work a request starts but its client must not wait for: it runs once the response has been
handed to the server (Django sends `request_finished` when the server closes the response),
in the same thread, so the client has its answer first.

Outside a request (a management command, a worker) the work runs at once."""

import logging
import threading
from collections.abc import Callable

from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)
_pending = threading.local()
# Work queued or running in any thread, so that whoever must wait for it can.
_in_flight = threading.Condition()
_in_flight_count = 0


def after_response(work: Callable[[], object]) -> None:
    """Run `work` after this thread's response is sent, or now when no request is under way."""
    queue = getattr(_pending, "queue", None)
    if queue is None:
        _run(work)
        return
    _count(+1)
    queue.append(work)


def wait_idle(timeout: float) -> bool:
    """Wait until no work after a response is queued or running; False on timeout."""
    with _in_flight:
        return _in_flight.wait_for(lambda: _in_flight_count == 0, timeout)


def _count(step: int) -> None:
    global _in_flight_count
    with _in_flight:
        _in_flight_count += step
        _in_flight.notify_all()


def _run(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:
        # The response is gone already; the periodic sweeps catch up on what failed here.
        logger.exception("work after the response failed")


def _request_started(**_: object) -> None:
    left = getattr(_pending, "queue", None)
    if left:
        # The last request of this thread never finished; its work is the sweeps' now.
        _count(-len(left))
    _pending.queue = []


def _request_finished(**_: object) -> None:
    queue, _pending.queue = getattr(_pending, "queue", None) or [], None
    if not queue:
        return
    for work in queue:
        try:
            _run(work)
        finally:
            _count(-1)
    # Django's own end-of-request check ran before this work opened its connection. (Inside
    # an atomic block, as under the test client, the connection is not this request's to end.)
    if not connection.in_atomic_block:
        close_old_connections()


def listen() -> None:
    """Follow requests from the first one on (called when the app is ready)."""
    request_started.connect(_request_started, dispatch_uid="after_response_started")
    request_finished.connect(_request_finished, dispatch_uid="after_response_finished")
