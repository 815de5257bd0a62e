"""A report arrived: the one door every report goes through (the webhook, a rerun's own
report, the demo), so no path forgets a step.

It lives here, in the area that knows both the defect workflow and reruns: the run is stored
all-or-nothing first, then its failures are grouped into defects and a rerun waiting for it
is given its outcome (`reruns.follow_up`)."""

import logging
import time

from django.conf import settings
from django.db import transaction

from operations.after_response import after_response
from operations.metrics import INGEST_SECONDS
from reruns.follow_up import report_follow_up
from reruns.models import Rerun
from reruns.report_tasks import follow_up_report
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
    answer_first: bool = False,
) -> IngestResult:
    """Store the report exactly once and set the triage work in motion for its run.

    `rerun` is the rerun whose command wrote this report, when Triage ran it itself: it gets
    the outcome even if the report names no rerun. `received_at` (a `time.perf_counter()`
    reading) is when a webhook began reading the report: the time until it is stored goes to
    the ingest metric. Raises ReportConflict like `run_ingest`.

    With `answer_first` (a client is waiting) the follow-up runs in a worker, or in this
    process once the response is sent, so the answer never waits for grouping however many
    failures the report holds; without it, the follow-up is done before returning.

    The follow-up runs for a report sent again too: each step does its work once, so a run
    whose grouping failed the first time catches up, however old it is."""
    outcome = run_ingest(project=project, report=report)
    if outcome.created and received_at is not None:
        INGEST_SECONDS.observe(time.perf_counter() - received_at)
    run_id, rerun_id = outcome.run.pk, rerun.pk if rerun else None
    if not answer_first:
        report_follow_up(run_id=run_id, rerun_id=rerun_id)
    elif settings.REPORT_FOLLOW_UP_IN_PROCESS:
        after_response(lambda: report_follow_up(run_id=run_id, rerun_id=rerun_id))
    else:
        transaction.on_commit(lambda: _queue(run_id, rerun_id))
    return outcome


def _queue(run_id: int, rerun_id: int | None) -> None:
    try:
        follow_up_report.delay(run_id, rerun_id)
    except Exception:
        # Broker down: the run is stored, and the defects sweep groups it when it is back.
        logger.warning("could not queue the follow-up of run %s; the sweep will", run_id)
