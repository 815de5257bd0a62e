"""What follows a stored report: its failures grouped into defects, and the rerun waiting for
it given its outcome. Each step stands on its own: when one fails the run stays stored, the
other still runs, and the periodic sweeps catch up."""

import logging

from defects.grouping import defects_record_run
from reruns.models import Rerun
from reruns.outcomes import reruns_attach_report
from runs.models import Run

logger = logging.getLogger(__name__)


def report_follow_up(*, run_id: int, rerun_id: int | None = None) -> None:
    """Group the run's failures and attach it to its rerun; calling again does nothing new."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        # Pruned, or its project deleted, before the follow-up came round: nothing to do.
        return
    rerun = Rerun.objects.filter(pk=rerun_id).first() if rerun_id else None
    try:
        defects_record_run(run=run)
    except Exception:
        logger.exception("grouping the failures of run %s failed", run_id)
    try:
        reruns_attach_report(run=run, fallback=rerun)
    except Exception:
        logger.exception("attaching run %s to its rerun failed", run_id)
