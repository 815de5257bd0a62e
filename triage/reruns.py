"""Reruns: a request is a row first; a task claims and dispatches it exactly once."""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from runs.ingest import ReportConflict, run_ingest
from runs.models import Project, Run, Status
from runs.schema import ReportInvalid, report_parse
from triage.defects import defects_record_run
from triage.dispatchers import DispatchRefused, TransientDispatchError, dispatch
from triage.models import Defect, DefectEvent, Dispatcher, Rerun

logger = logging.getLogger(__name__)
MAX_SCENARIOS_PER_RERUN = 200
SWEEP_GRACE = timedelta(seconds=5)


class RerunRefused(Exception):
    pass


def _queue(rerun_id: int) -> None:
    from triage.tasks import dispatch_rerun

    try:
        dispatch_rerun.delay(rerun_id)
    except Exception:
        # Broker down: the row stays "requested" and the sweep queues it when it is back.
        logger.warning("could not queue rerun %s; the sweep will", rerun_id, exc_info=True)


def _event(defect: Defect | None, actor: AbstractBaseUser | None, to_value: str, text: str) -> None:
    if defect is not None:
        DefectEvent.objects.create(
            defect=defect, actor=actor, kind=DefectEvent.Kind.RERUN, to_value=to_value, text=text
        )


def rerun_request(
    *,
    project: Project,
    user: AbstractBaseUser,
    source_run: Run,
    scenario_keys: list[str],
    ref_kind: str,
    idempotency_key: str,
    defect: Defect | None = None,
) -> Rerun:
    """Store a rerun request and queue its dispatch after commit; a repeated key returns it."""
    if not idempotency_key:
        raise RerunRefused("the request has no idempotency key")
    already = Rerun.objects.filter(idempotency_key=idempotency_key, project=project).first()
    if already:
        return already
    keys = sorted(set(scenario_keys))
    if not keys:
        raise RerunRefused("no scenario to rerun")
    if len(keys) > MAX_SCENARIOS_PER_RERUN:
        raise RerunRefused(f"at most {MAX_SCENARIOS_PER_RERUN} scenarios per rerun")
    if ref_kind not in Rerun.Ref.values:
        raise RerunRefused(f"unknown ref {ref_kind!r}")
    dispatcher = Dispatcher.objects.filter(project=project).first()
    if dispatcher is None:
        raise RerunRefused("this project has no rerun dispatcher; an admin can set one up")
    try:
        with transaction.atomic():
            # Serialises requests of one project, so the concurrency limit holds under races.
            Project.objects.select_for_update().get(pk=project.pk)
            active = Rerun.objects.filter(project=project, state__in=Rerun.ACTIVE).count()
            if active >= dispatcher.max_concurrent:
                raise RerunRefused(
                    f"{active} reruns are under way; this project allows "
                    f"{dispatcher.max_concurrent} at once"
                )
            rerun = Rerun.objects.create(
                project=project, requested_by=user, source_run=source_run, defect=defect,
                scenario_keys=keys, ref_kind=ref_kind, branch=source_run.branch,
                commit=source_run.commit, token=secrets.token_urlsafe(24),
                idempotency_key=idempotency_key,
            )  # fmt: skip
            what = f"rerun of {', '.join(keys)} on {rerun.get_ref_kind_display()} requested"
            _event(defect, user, Rerun.State.REQUESTED, what)
            transaction.on_commit(lambda: _queue(rerun.pk))
    except IntegrityError:
        # A double click raced this one and won: same key, same row.
        already = Rerun.objects.filter(idempotency_key=idempotency_key, project=project).first()
        if already is None:
            raise RerunRefused("that request key was used elsewhere; reload the page") from None
        return already
    return rerun


def rerun_cancel(*, rerun: Rerun, user: AbstractBaseUser) -> bool:
    """Only a rerun not yet handed to CI can be cancelled."""
    cancelled = Rerun.objects.filter(pk=rerun.pk, state=Rerun.State.REQUESTED).update(
        state=Rerun.State.CANCELLED, finished_at=timezone.now()
    )
    if cancelled:
        _event(rerun.defect, user, Rerun.State.CANCELLED, f"rerun {rerun.pk} cancelled")
    return bool(cancelled)


def _lease_seconds(rerun_id: int) -> int:
    """A local command may run for its whole timeout: the lease must outlast it."""
    lease = settings.RERUN_DISPATCH_LEASE_SECONDS
    dispatcher = Dispatcher.objects.filter(project__reruns=rerun_id).first()
    if dispatcher and dispatcher.kind == Dispatcher.Kind.COMMAND:
        spec = settings.RERUN_COMMANDS.get(dispatcher.command_name) or {}
        lease = max(lease, int(spec.get("timeout", 600)) + 60)
    return lease


def _claim(rerun_id: int, now: datetime) -> Rerun | None:
    # The conditional update is the lock: a second worker, a retried or redelivered task
    # finds nothing to claim, unless the claimer died and its lease ran out.
    lease = now + timedelta(seconds=_lease_seconds(rerun_id))
    claimed = Rerun.objects.filter(
        Q(state=Rerun.State.REQUESTED) | Q(state=Rerun.State.DISPATCHING, lease_until__lt=now),
        pk=rerun_id,
    ).update(state=Rerun.State.DISPATCHING, lease_until=lease, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return Rerun.objects.select_related("project", "source_run", "defect").get(pk=rerun_id)


def rerun_dispatch(rerun_id: int) -> str:
    """Claim and send one rerun. Raises TransientDispatchError when worth retrying."""
    rerun = _claim(rerun_id, timezone.now())
    if rerun is None:
        return "not claimable"
    dispatcher = Dispatcher.objects.filter(project=rerun.project).first()
    try:
        if dispatcher is None:
            raise DispatchRefused("the project's dispatcher was removed")
        sent = dispatch(dispatcher, rerun)
    except TransientDispatchError as exc:
        final = rerun.attempts >= settings.RERUN_MAX_DISPATCH_ATTEMPTS
        Rerun.objects.filter(pk=rerun.pk, state=Rerun.State.DISPATCHING).update(
            state=Rerun.State.ERROR if final else Rerun.State.DISPATCHING,
            # An expired lease lets the retry claim it again at once.
            lease_until=timezone.now(),
            last_error=str(exc)[:2000],
            finished_at=timezone.now() if final else None,
        )
        if final:
            _event(rerun.defect, None, Rerun.State.ERROR, f"rerun {rerun.pk} failed: {exc}")
            return "error"
        raise
    except DispatchRefused as exc:
        Rerun.objects.filter(pk=rerun.pk).update(
            state=Rerun.State.ERROR, last_error=str(exc)[:2000], finished_at=timezone.now()
        )
        _event(rerun.defect, None, Rerun.State.ERROR, f"rerun {rerun.pk} refused: {exc}")
        return "refused"
    # Only the holder of this claim (its attempt number) records the outcome.
    Rerun.objects.filter(
        pk=rerun.pk, state=Rerun.State.DISPATCHING, attempts=rerun.attempts
    ).update(
        state=Rerun.State.DISPATCHED,
        dispatched_at=timezone.now(),
        ci_url=sent.ci_url,
        exit_code=sent.exit_code,
        output_tail=sent.output_tail,
        last_error="",
    )
    _event(rerun.defect, None, Rerun.State.DISPATCHED, f"rerun {rerun.pk} sent to CI")
    if dispatcher.kind == Dispatcher.Kind.COMMAND:
        _ingest_command_report(rerun, sent.report, sent.exit_code)
    return "dispatched"


def _ingest_command_report(rerun: Rerun, report: bytes | None, exit_code: int | None) -> None:
    if report is None:
        Rerun.objects.filter(pk=rerun.pk).update(
            state=Rerun.State.ERROR, finished_at=timezone.now(),
            last_error=f"the command wrote no report (exit code {exit_code})",
        )  # fmt: skip
        return
    try:
        outcome = run_ingest(project=rerun.project, report=report_parse(report))
    except (ReportInvalid, ReportConflict) as exc:
        Rerun.objects.filter(pk=rerun.pk).update(
            state=Rerun.State.ERROR, finished_at=timezone.now(),
            last_error=f"the command's report was refused: {exc}",
        )  # fmt: skip
        return
    defects_record_run(run=outcome.run)
    reruns_attach_report(run=outcome.run, fallback=rerun)


def _outcome_state(run: Run) -> str:
    if run.status == Status.PASSED:
        return Rerun.State.PASSED
    return Rerun.State.FAILED if run.failed_count else Rerun.State.ERROR


def reruns_attach_report(*, run: Run, fallback: Rerun | None = None) -> Rerun | None:
    """Attach a rerun's own report to the rerun that asked for it, by token or rerunOf."""
    rerun = None
    if run.rerun_token:
        rerun = Rerun.objects.filter(project_id=run.project_id, token=run.rerun_token).first()
    if rerun is None and run.rerun_of_external_id:
        # Without a token, the oldest rerun of that run already handed to CI is the likeliest
        # sender; a rerun still waiting to be sent cannot have reported.
        rerun = (
            Rerun.objects.filter(
                project_id=run.project_id,
                source_run__external_id=run.rerun_of_external_id,
                report_run__isnull=True,
                state__in=[Rerun.State.DISPATCHED, Rerun.State.RUNNING],
            )
            .order_by("dispatched_at", "pk")
            .first()
        )
    rerun = rerun or fallback
    if rerun is None or rerun.report_run_id:
        return None
    state = _outcome_state(run)
    attached = Rerun.objects.filter(
        pk=rerun.pk,
        report_run__isnull=True,
        state__in=[*Rerun.ACTIVE, Rerun.State.TIMED_OUT, Rerun.State.ERROR],
    ).update(report_run=run, state=state, finished_at=timezone.now())
    if not attached:
        return None
    note = ""
    if state == Rerun.State.PASSED and run.commit and run.commit == rerun.source_run.commit:
        # "Rerun until green" is not a fix: the defect stays as it is.
        note = " It failed before on the same commit: a flake, and the defect stays open."
    _event(rerun.defect, None, state,
           f"rerun {rerun.pk} {state} in run {run.external_id}.{note}")  # fmt: skip
    return rerun


def rerun_status_update(*, rerun: Rerun, state: str, ci_url: str = "") -> bool:
    """What CI says through the callback URL: running, or a final state without a report."""
    allowed = {Rerun.State.RUNNING, Rerun.State.ERROR, Rerun.State.CANCELLED}
    if state not in allowed:
        return False
    updates: dict = {"state": state}
    if ci_url.startswith(("https://", "http://")):
        updates["ci_url"] = ci_url[:2000]
    if state != Rerun.State.RUNNING:
        updates["finished_at"] = timezone.now()
    changed = Rerun.objects.filter(
        pk=rerun.pk, state__in=[Rerun.State.DISPATCHED, Rerun.State.RUNNING]
    ).update(**updates)
    if changed:
        _event(rerun.defect, None, state, f"CI reports rerun {rerun.pk} {state}")
    return bool(changed)


def reruns_sweep(*, now: datetime) -> int:
    """Queue requests whose task was lost (broker down, worker killed past its lease)."""
    stuck = list(
        Rerun.objects.filter(
            Q(state=Rerun.State.REQUESTED, created_at__lte=now - SWEEP_GRACE)
            | Q(state=Rerun.State.DISPATCHING, lease_until__lt=now)
        ).values_list("pk", flat=True)[:500]
    )
    for rerun_id in stuck:
        _queue(rerun_id)
    return len(stuck)


def reruns_time_out(*, now: datetime) -> int:
    timed_out = 0
    for dispatcher in Dispatcher.objects.all():
        deadline = now - timedelta(minutes=dispatcher.timeout_minutes)
        for rerun in Rerun.objects.filter(
            project_id=dispatcher.project_id,
            state__in=[Rerun.State.DISPATCHED, Rerun.State.RUNNING],
            dispatched_at__lt=deadline,
        ).select_related("defect"):
            if Rerun.objects.filter(pk=rerun.pk, state=rerun.state).update(
                state=Rerun.State.TIMED_OUT, finished_at=now
            ):
                timed_out += 1
                waited = f"no report after {dispatcher.timeout_minutes} minutes"
                _event(rerun.defect, None, Rerun.State.TIMED_OUT, f"rerun {rerun.pk}: {waited}")
    return timed_out
