"""A report arrived: the one door every report goes through (the webhook, a rerun's own
report, the demo), so no path forgets a step.

It lives here, in the area that knows both the defect workflow and reruns: the run is stored
all-or-nothing first, then its failures are grouped into defects and a rerun waiting for it
is given its outcome. Those later steps stand on their own: when one fails the run stays
stored, and the periodic sweeps catch up."""

import logging
import time

from defects.grouping import defects_record_run
from operations.metrics import INGEST_SECONDS
from reruns.models import Rerun
from reruns.outcomes import reruns_attach_report
from runs.ingest import IngestResult, run_ingest
from runs.models import Project
from runs.schema import RunReport

logger = logging.getLogger(__name__)


def report_arrived(
    *,
    project: Project,
    report: RunReport,
    rerun: Rerun | None = None,
    received_at: float | None = None,
) -> IngestResult:
    """Store the report exactly once and set the triage work in motion for its run.

    `rerun` is the rerun whose command wrote this report, when Triage ran it itself: it gets
    the outcome even if the report names no rerun. `received_at` (a `time.perf_counter()`
    reading) is when a webhook began reading the report: the time until it is stored goes to
    the ingest metric. Raises ReportConflict like `run_ingest`.

    The later steps run for a report sent again too: each does its work once, so a run whose
    grouping failed the first time catches up, however old it is."""
    outcome = run_ingest(project=project, report=report)
    if outcome.created and received_at is not None:
        INGEST_SECONDS.observe(time.perf_counter() - received_at)
    try:
        defects_record_run(run=outcome.run)
    except Exception:
        logger.exception("grouping the failures of run %s failed", outcome.run.pk)
    try:
        reruns_attach_report(run=outcome.run, fallback=rerun)
    except Exception:
        logger.exception("attaching run %s to its rerun failed", outcome.run.pk)
    return outcome
