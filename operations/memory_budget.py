"""A web process's memory budget for reports being read and stored.

Reading and storing a report takes memory in proportion to its size (`bench/ingest.py` prints
the peak for the largest report the webhook takes), and a threaded web process may hold many
requests at once. Each one reserves its estimate first: while the estimates fit the budget the
work goes ahead side by side, and the rest waits its turn, first come first served, so that
part of the process's memory stays near its budget however many large reports arrive together.
(The bodies themselves, read before, are bounded apart: threads x REPORT_MAX_BYTES.)"""

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class BudgetExhausted(Exception):
    """The reservation waited its longest and the budget never had room."""


_room = threading.Condition()
_in_use = 0
# Waiting reservations in arrival order: only the first may take room, so a large report is
# not passed over for ever by small ones.
_queue: deque[object] = deque()


@contextmanager
def memory_reserved(amount: int, *, capacity: int, wait_seconds: float) -> Iterator[None]:
    """Hold `amount` bytes of the process's `capacity` while the block runs.

    A single piece of work larger than the whole budget still runs, alone. Raises
    BudgetExhausted when no room came within `wait_seconds`."""
    global _in_use
    amount = max(0, min(amount, capacity))
    ticket = object()
    with _room:
        _queue.append(ticket)
        fits = _room.wait_for(
            lambda: _queue[0] is ticket and _in_use + amount <= capacity, timeout=wait_seconds
        )
        _queue.remove(ticket)
        # The next in line may fit now, or may be first now.
        _room.notify_all()
        if not fits:
            raise BudgetExhausted
        _in_use += amount
    try:
        yield
    finally:
        with _room:
            _in_use -= amount
            _room.notify_all()


def memory_in_use() -> int:
    """Bytes reserved right now in this process."""
    with _room:
        return _in_use
