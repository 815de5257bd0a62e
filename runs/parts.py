"""Runs that CI posts in parts: when such a run counts as whole."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from runs.models import Run


def run_is_complete(run: Run, now: datetime) -> bool:
    """Whether the checks that need the whole run may look at it now: a run posted whole,
    one whose expected parts have all arrived, or one whose last part is older than the
    settle time (CI did not say how many to expect, or a part never came)."""
    if not run.in_parts:
        return True
    if run.expected_parts is not None and run.parts_received >= run.expected_parts:
        return True
    settle = timedelta(seconds=settings.RUN_PARTS_SETTLE_SECONDS)
    return run.last_part_at is not None and now - run.last_part_at >= settle


@dataclass(frozen=True)
class PartsReceived:
    received: int
    expected: int | None
    names: list[str]

    @property
    def waiting(self) -> bool:
        return self.expected is not None and self.received < self.expected


def parts_received(run: Run) -> PartsReceived:
    """The parts of a run as its summary and page show them; a run posted whole is one."""
    if not run.in_parts:
        return PartsReceived(received=1, expected=1, names=[])
    names = list(run.parts.order_by("received_at", "pk").values_list("name", flat=True))
    return PartsReceived(received=run.parts_received, expected=run.expected_parts, names=names)
