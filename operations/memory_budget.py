"""A web process's memory budget for work in flight.

Reading and storing a report takes memory in proportion to its size (`bench/ingest.py` prints
the peak for the largest report the webhook takes), and a threaded web process may hold many
requests at once. Each one reserves its estimate first: while the estimates fit the budget the
work goes ahead side by side, and the rest waits its turn, so the process's peak stays near
its budget however many large reports arrive together."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class BudgetExhausted(Exception):
    """The reservation waited its longest and the budget never had room."""


_room = threading.Condition()
_in_use = 0


@contextmanager
def memory_reserved(amount: int, *, capacity: int, wait_seconds: float) -> Iterator[None]:
    """Hold `amount` bytes of the process's `capacity` while the block runs.

    A single piece of work larger than the whole budget still runs, alone. Raises
    BudgetExhausted when no room came within `wait_seconds`."""
    global _in_use
    amount = max(0, min(amount, capacity))
    with _room:
        if not _room.wait_for(lambda: _in_use + amount <= capacity, timeout=wait_seconds):
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
