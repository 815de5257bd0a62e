"""Group a run's failures into defects: create, route, reopen regressions, find shared causes."""

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, Case, Count, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Greatest, Least
from django.urls import reverse
from django.utils import timezone

from defects.classify import suggest_class
from defects.models import (
    Defect,
    DefectClass,
    DefectEvent,
    DefectOccurrence,
    IncidentScenario,
    RoutingRule,
    SharedCause,
    TriagedRun,
    TriageSettings,
)
from defects.notifications import digest_queue
from defects.routing import RouteInput, project_rules, route
from runs.models import (
    FAILING,
    FailureReason,
    InvariantFailure,
    Run,
    ScenarioFlake,
    ScenarioResult,
)
from runs.parts import run_is_complete

SHARED_CAUSE_AREAS = 3
# A share of a small run is no outage: two of five scenarios failing alike are two defects.
INCIDENT_MIN_FOR_SHARE = 3
# The first key of PostgreSQL's two-key advisory locks that groupings take; the second is the
# project's id.
GROUPING_LOCK_KEY = 0x6772


@dataclass
class _Group:
    scenario_id: int | None
    scenario_key: str
    area: str
    file: str
    invariant_id: int | None
    invariant_key: str
    message: str
    reason_id: int | None = None
    kind: str = Defect.Kind.DEFECT
    has_invariant: bool = False
    occurrences: list[tuple[int, int | None]] = field(default_factory=list)
    # An incident's scenarios in this run.
    scenario_ids: set[int] = field(default_factory=set)


@dataclass
class _Failures:
    """A run's ungrouped failing results by defect, and what incidents are told by."""

    groups: dict[str, _Group]
    reason_of: dict[int, int]  # failure id -> reason id
    scenario_of: dict[int, int]  # result id -> scenario id


@dataclass
class RecordOutcome:
    created: list[Defect] = field(default_factory=list)
    seen_again: list[Defect] = field(default_factory=list)
    regressed: list[Defect] = field(default_factory=list)
    shared_causes: list[SharedCause] = field(default_factory=list)


def fingerprint(scenario_key: str, invariant_key: str) -> str:
    return f"{scenario_key}|{invariant_key}"


def _groups(run: Run) -> _Failures:
    """The failing results of the run not grouped yet (a part that came late), by defect."""
    grouped = DefectOccurrence.objects.filter(run=run).values("result_id")
    results = {
        row["id"]: row
        for row in ScenarioResult.objects.filter(run=run, status__in=FAILING)
        .exclude(pk__in=grouped)
        .values("id", "scenario_id", "scenario__key", "scenario__area", "scenario__file", "file")
    }
    groups: dict[str, _Group] = {}
    with_failures = set()
    reason_of: dict[int, int] = {}
    failures = InvariantFailure.objects.filter(run=run, result_id__in=list(results)).values(
        "id", "result_id", "invariant_id", "invariant__key", "message", "reason_id"
    )
    for failure in failures.order_by("result_id", "position"):
        result = results[failure["result_id"]]
        with_failures.add(result["id"])
        if failure["reason_id"]:
            reason_of[failure["id"]] = failure["reason_id"]
        key = fingerprint(result["scenario__key"], failure["invariant__key"] or "")
        group = groups.setdefault(
            key,
            _Group(
                result["scenario_id"], result["scenario__key"], result["scenario__area"],
                result["file"] or result["scenario__file"], failure["invariant_id"],
                failure["invariant__key"] or "", failure["message"], failure["reason_id"],
            ),
        )  # fmt: skip
        group.occurrences.append((result["id"], failure["id"]))
    for result in results.values():
        if result["id"] in with_failures:
            continue
        # A failed scenario that reported no failure at all is a harness gap of its own.
        key = fingerprint(result["scenario__key"], "")
        group = groups.setdefault(
            key,
            _Group(
                result["scenario_id"], result["scenario__key"], result["scenario__area"],
                result["file"] or result["scenario__file"], None, "", "",
            ),
        )  # fmt: skip
        group.occurrences.append((result["id"], None))
    scenario_of = {result_id: row["scenario_id"] for result_id, row in results.items()}
    return _Failures(groups, reason_of, scenario_of)


def incident_key(reason: FailureReason) -> str:
    return f"incident|{reason.key}"


def _incident_reasons(run: Run, failures: _Failures) -> dict[int, FailureReason]:
    """The reasons this run's failures are an incident by: many scenarios failing with one
    reason (the project's thresholds), or a reason an open incident already holds (the same
    outage the next night)."""
    scenarios_by_reason: dict[int, set[int]] = defaultdict(set)
    for group in failures.groups.values():
        for result_id, failure_id in group.occurrences:
            reason = failures.reason_of.get(failure_id) if failure_id else None
            if reason is not None:
                scenarios_by_reason[reason].add(failures.scenario_of[result_id])
    if not scenarios_by_reason:
        return {}
    settings = TriageSettings.objects.filter(project_id=run.project_id).first() or TriageSettings()
    # In one query: the reasons an open (or muted) incident holds, and those failing in enough
    # scenarios to make one.
    enough = min(settings.incident_min_scenarios, INCIDENT_MIN_FOR_SHARE)
    reasons = (
        FailureReason.objects.filter(project_id=run.project_id, pk__in=list(scenarios_by_reason))
        .annotate(
            held=Exists(
                Defect.objects.filter(
                    project_id=run.project_id,
                    kind=Defect.Kind.INCIDENT,
                    reason_id=OuterRef("pk"),
                    state__in=[*Defect.OPEN_STATES, Defect.State.MUTED],
                )
            )
        )
        .filter(
            Q(held=True)
            | Q(
                pk__in=[
                    pk for pk, scenarios in scenarios_by_reason.items() if len(scenarios) >= enough
                ]
            )
        )
    )

    @functools.cache
    def scenarios_ran() -> int:
        # Counted only for a share to compare, and once: most runs' reasons are decided
        # without it.
        return ScenarioResult.objects.filter(run=run).values("scenario_id").distinct().count()

    def is_incident(reason: FailureReason) -> bool:
        scenarios = len(scenarios_by_reason[reason.pk])
        return (
            reason.held
            or scenarios >= settings.incident_min_scenarios
            or (
                scenarios >= INCIDENT_MIN_FOR_SHARE
                and scenarios * 100 >= settings.incident_min_percent * scenarios_ran()
            )
        )

    return {reason.pk: reason for reason in reasons if is_incident(reason)}


def _with_incidents(run: Run, failures: _Failures) -> dict[str, _Group]:
    """The groups with every failure of an incident's reason moved into that incident."""
    reasons = _incident_reasons(run, failures)
    if not reasons:
        return failures.groups
    regrouped: dict[str, _Group] = {}
    for key, group in failures.groups.items():
        kept = []
        for result_id, failure_id in group.occurrences:
            reason_id = failures.reason_of.get(failure_id) if failure_id else None
            if reason_id not in reasons:
                kept.append((result_id, failure_id))
                continue
            reason = reasons[reason_id]
            incident = regrouped.setdefault(
                incident_key(reason),
                _Group(None, "", "", "", None, "", reason.text, reason.pk, Defect.Kind.INCIDENT),
            )
            incident.has_invariant |= group.invariant_id is not None
            incident.occurrences.append((result_id, failure_id))
            incident.scenario_ids.add(failures.scenario_of[result_id])
        if kept:
            group.occurrences = kept
            regrouped[key] = group
    return regrouped


def _unsaved(
    run: Run, key: str, group: _Group, flaky: dict[int, str], rules: list
) -> tuple[Defect, RoutingRule | None]:
    """A new defect for the group, classified (a suggestion) and routed, and the rule that
    routed it."""
    suggestion = suggest_class(
        run=run,
        has_invariant=group.invariant_id is not None or group.has_invariant,
        message=group.message,
        flaky_commit=flaky.get(group.scenario_id) if group.scenario_id else None,
    )
    # Routed on its real class (unclassified until a person decides); the suggestion only
    # informs that person, and classifying routes again.
    target = RouteInput(
        defect_class=DefectClass.UNCLASSIFIED,
        scenario_key=group.scenario_key,
        invariant_key=group.invariant_key,
        file=group.file,
    )
    rule = route(rules, target)
    defect = Defect(
        project_id=run.project_id,
        kind=group.kind,
        scenario_id=group.scenario_id,
        invariant_id=group.invariant_id,
        reason_id=group.reason_id,
        fingerprint=key,
        suggested_class=suggestion.defect_class if suggestion else "",
        suggestion_reason=suggestion.reason if suggestion else "",
        owner_team=rule.team if rule else None,
        routed_by=rule,
        first_seen=run.started_at,
        last_seen=run.started_at,
        last_run=run,
    )
    return defect, rule


def _creation_events(run: Run, defect: Defect, rule: RoutingRule | None) -> list[DefectEvent]:
    events = [DefectEvent(defect=defect, kind=DefectEvent.Kind.CREATED,
                          to_value=defect.fingerprint[:200],
                          text=f"first seen in run {run.external_id}")]  # fmt: skip
    if rule and rule.team:
        source = f" ({rule.source})" if rule.source else ""
        events.append(
            DefectEvent(
                defect=defect, kind=DefectEvent.Kind.OWNER, to_value=rule.team.name,
                text=f"routed by rule {rule.position}{source}",
            )
        )  # fmt: skip
    return events


def _create_all(
    run: Run, new: list[tuple[str, _Group]], flaky: dict[int, str], rules: list
) -> dict[str, Defect]:
    """The new groups' defects, created together in key order; none when one of them was
    created by a concurrent run meanwhile (the caller then creates them one at a time)."""
    if not new or not connection.features.can_return_rows_from_bulk_insert:
        return {}
    built = [_unsaved(run, key, group, flaky, rules) for key, group in new]
    try:
        with transaction.atomic():
            Defect.objects.bulk_create([defect for defect, _ in built])
    except IntegrityError:
        return {}
    DefectEvent.objects.bulk_create(
        event for defect, rule in built for event in _creation_events(run, defect, rule)
    )
    return {defect.fingerprint: defect for defect, _ in built}


def _create(run: Run, key: str, group: _Group, flaky: dict[int, str], rules: list) -> Defect | None:
    defect, rule = _unsaved(run, key, group, flaky, rules)
    try:
        with transaction.atomic():
            defect.save(force_insert=True)
    except IntegrityError:
        return None  # Created by a concurrent run meanwhile; treated as seen again.
    DefectEvent.objects.bulk_create(_creation_events(run, defect, rule))
    return defect


def _regression(run: Run, defect: Defect) -> DefectEvent | None:
    """A resolved defect failing in a later run reopens: written, and its event returned."""
    if defect.state != Defect.State.RESOLVED or (
        defect.resolved_at is not None and run.started_at <= defect.resolved_at
    ):
        return None
    Defect.objects.filter(pk=defect.pk).update(
        state=Defect.State.REGRESSED, version=F("version") + 1, changed_by=None
    )
    defect.state, defect.changed_by = Defect.State.REGRESSED, None  # as the message names it
    defect.version += 1
    return DefectEvent(
        defect=defect, kind=DefectEvent.Kind.REGRESSION, from_value=Defect.State.RESOLVED,
        to_value=Defect.State.REGRESSED, text=f"failed again in run {run.external_id}",
    )  # fmt: skip


def _counts_add(run: Run, counted: list[tuple[Defect, int, int | None]]) -> None:
    """Add each defect's new occurrences, move its first and last seen to take in the run,
    and set an incident's scenario count: one statement for all the defects that change
    alike, however many the run touched. Counting occurrences is no change of the defect's
    decisions, so `version` stays: a person acting on a busy defect is not refused because CI
    keeps reporting it."""
    started = run.started_at
    alike: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    for defect, occurrences, scenarios in counted:
        alike[occurrences, scenarios].append(defect.pk)
    for (occurrences, scenarios), pks in alike.items():
        changes = {
            "occurrence_count": F("occurrence_count") + occurrences,
            "last_run_id": Case(
                When(last_seen__lte=started, then=Value(run.pk, BigIntegerField())),
                default=F("last_run_id"),
                output_field=BigIntegerField(),
            ),
            "last_seen": Greatest("last_seen", Value(started)),
            "first_seen": Least("first_seen", Value(started)),
        }
        if scenarios is not None:
            changes["scenario_count"] = Value(scenarios)
        Defect.objects.filter(pk__in=pks).update(**changes)
    for defect, occurrences, scenarios in counted:
        # As stored: the rows are locked by this grouping, so nothing else changed them.
        defect.occurrence_count += occurrences
        if started >= defect.last_seen:
            defect.last_seen, defect.last_run = started, run
        defect.first_seen = min(defect.first_seen, started)
        if scenarios is not None:
            defect.scenario_count = scenarios


def _suggest_flake_for_open_defects(run: Run, flaky: dict[int, str]) -> None:
    """A flake found later still informs the open, undecided defects of that scenario."""
    for defect in Defect.objects.filter(
        project_id=run.project_id,
        scenario_id__in=list(flaky),
        state__in=Defect.OPEN_STATES,
        defect_class=DefectClass.UNCLASSIFIED,
    ).exclude(suggested_class=DefectClass.FLAKE):
        Defect.objects.filter(pk=defect.pk).update(
            suggested_class=DefectClass.FLAKE,
            suggestion_reason=(
                f"it passed and failed on the same commit {flaky[defect.scenario_id]}"
            ),
        )


def _shared_causes(run: Run, groups: dict[str, _Group], defects: dict[str, Defect]) -> list:
    """3+ areas failing with one invariant kind, or with one error, in one run."""
    by_signature: dict[str, set[str]] = defaultdict(set)
    for key, group in groups.items():
        if group.invariant_key and "-" in group.invariant_key:
            by_signature["invariant " + group.invariant_key.split("-")[0] + "-*"].add(key)
        if group.message:
            by_signature["error " + group.message.strip()[:120]].add(key)
    causes = []
    for signature, keys in sorted(by_signature.items()):
        areas = sorted({groups[key].area or groups[key].scenario_key for key in keys})
        if len(areas) < SHARED_CAUSE_AREAS:
            continue
        cause, created = SharedCause.objects.get_or_create(
            run=run,
            signature=signature[:300],
            defaults={"project_id": run.project_id, "areas": ", ".join(areas)[:300]},
        )
        if not created:
            continue
        linked = [defects[key] for key in sorted(keys) if key in defects]
        cause.defects.add(*linked)
        causes.append(cause)
        text = (
            f"likely one shared cause: {signature} fails in {len(areas)} areas "
            f"({', '.join(areas)}) of run {run.external_id}"
        )
        DefectEvent.objects.bulk_create(
            DefectEvent(
                defect=defect, kind=DefectEvent.Kind.ESCALATION, to_value="shared cause", text=text
            )
            for defect in linked
        )
    return causes


def _flakes_of_commit(run: Run) -> dict[int, str]:
    """Scenarios that passed and failed on this run's own commit: an older flake says nothing
    about this failure."""
    if not run.commit:
        return {}
    return dict(
        ScenarioFlake.objects.filter(project_id=run.project_id, commit=run.commit).values_list(
            "scenario_id", "commit"
        )
    )


def _defects_of(
    run: Run, groups: dict[str, _Group], flaky: dict[int, str], outcome: RecordOutcome
) -> dict[str, Defect]:
    """The defect of each group, created when new; locked, so concurrent runs count in turn."""
    existing = {
        defect.fingerprint: defect
        for defect in Defect.objects.select_for_update()
        .filter(project_id=run.project_id, fingerprint__in=list(groups))
        .order_by("pk")
    }
    new = [(key, group) for key, group in sorted(groups.items()) if key not in existing]
    # Only a new defect is routed.
    rules = project_rules(run.project_id) if new else []
    created = _create_all(run, new, flaky, rules)
    defects: dict[str, Defect] = {}
    for key, group in sorted(groups.items()):
        defect = existing.get(key)
        if defect is None:
            defect = created.get(key) or _create(run, key, group, flaky, rules)
            if defect is not None:
                outcome.created.append(defect)
                defects[key] = defect
                continue
            defect = Defect.objects.select_for_update().get(
                project_id=run.project_id, fingerprint=key
            )
        defects[key] = defect
        outcome.seen_again.append(defect)
    return defects


def _record_occurrences(
    run: Run, groups: dict[str, _Group], defects: dict[str, Defect], outcome: RecordOutcome
) -> None:
    """Link each failing result to its defect, count it, and reopen resolved defects. Every
    defect of the run is locked (`_defects_of`) until the grouping commits."""
    DefectOccurrence.objects.bulk_create(
        [
            DefectOccurrence(
                defect=defects[key], result_id=result_id, failure_id=failure_id, run=run,
                seen_at=run.started_at,
            )
            for key, group in groups.items()
            for result_id, failure_id in group.occurrences
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    new_ids = {defect.pk for defect in outcome.created}
    scenarios = _incident_scenarios_add(groups, defects)
    counted, regressions = [], []
    for key, group in groups.items():
        defect = defects[key]
        # One occurrence per failing result, however many failures it reported.
        results = len({result_id for result_id, _ in group.occurrences})
        counted.append((defect, results, scenarios.get(defect.pk)))
        if defect.pk not in new_ids and (event := _regression(run, defect)) is not None:
            outcome.regressed.append(defect)
            regressions.append(event)
    _counts_add(run, counted)
    DefectEvent.objects.bulk_create(regressions)


def _incident_scenarios_add(groups: dict[str, _Group], defects: dict[str, Defect]) -> dict:
    """Add the run's scenarios to its incidents; how many scenarios each incident now holds,
    by defect id."""
    incidents = {defects[key].pk: group for key, group in groups.items()
                 if defects[key].is_incident}  # fmt: skip
    if not incidents:
        return {}
    IncidentScenario.objects.bulk_create(
        [
            IncidentScenario(defect_id=pk, scenario_id=scenario_id)
            for pk, group in sorted(incidents.items())
            for scenario_id in sorted(group.scenario_ids)
        ],
        ignore_conflicts=True,
    )
    return dict(
        IncidentScenario.objects.filter(defect_id__in=list(incidents))
        .values_list("defect_id")
        .annotate(scenarios=Count("pk"))
        .order_by()
    )


def _notify(run: Run, outcome: RecordOutcome) -> None:
    """One message per channel for the run: what it broke that needs a person now."""
    new_incidents = [d for d in outcome.created if d.is_incident]
    if not (outcome.regressed or new_incidents or outcome.shared_causes):
        return
    said = [
        f"{len(new_incidents)} new incident{'s' if len(new_incidents) != 1 else ''}"
        if new_incidents else "",
        f"{len(outcome.regressed)} regressed" if outcome.regressed else "",
        f"{len(outcome.shared_causes)} likely shared cause"
        f"{'s' if len(outcome.shared_causes) != 1 else ''}" if outcome.shared_causes else "",
    ]  # fmt: skip
    digest_queue(
        project=run.project,
        subject=f"[{run.project.slug}] Run {run.external_id}: " + ", ".join(p for p in said if p),
        defects=[*new_incidents, *outcome.regressed],
        notes=[
            f"Likely one shared cause: {cause.signature} fails in {cause.areas}"
            for cause in outcome.shared_causes
        ],
        link=lambda defect: defect_path(defect),
    )


def _one_grouping_of_the_project_at_a_time(project_id: int) -> None:
    """Wait for any other grouping of the project to commit, and hold the project until this
    one does.

    Side by side, two groupings of one project could deadlock: the first had just created a
    defect the second was inserting too, so the second waited on it, while the second held a
    defect created after the first had looked for it, which the first then asked for.
    PostgreSQL aborted one and its run waited for the sweep. Taking turns costs little: a
    project's runs mostly share their defects, whose row locks had them take turns already.
    SQLite writes one transaction at a time anyway."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [GROUPING_LOCK_KEY, project_id % 2**31]
        )


@transaction.atomic
def defects_record_run(*, run: Run, now: datetime | None = None) -> RecordOutcome:
    """Group the run's failures into defects once each, when the run is whole.

    A run in parts waits until its parts are in (or settled); then its failures are grouped
    and the checks of a whole run (shared causes) are made, once. A part arriving later
    still has its failures grouped. Calling again does nothing new."""
    outcome = RecordOutcome()
    _one_grouping_of_the_project_at_a_time(run.project_id)
    # One grouping of a run at a time: a part, the sweep and a replay may call together.
    run = (
        Run.objects.select_for_update(of=("self",), no_key=True)
        .select_related("project")
        # Read with the lock, yet after any other grouping of the run committed: the project's
        # advisory lock above (on SQLite, the transaction) made this statement wait for it.
        .annotate(triaged=Exists(TriagedRun.objects.filter(run=OuterRef("pk"))))
        .get(pk=run.pk)
    )
    first_time = not run.triaged
    if first_time:
        # Once whole, a run stays whole: a part coming later is grouped when it arrives.
        if not run_is_complete(run, now or timezone.now()):
            return outcome
        TriagedRun.objects.create(run=run)
    flaky = _flakes_of_commit(run)
    if flaky:
        _suggest_flake_for_open_defects(run, flaky)
    groups = _with_incidents(run, _groups(run))
    if not groups:
        return outcome
    defects = _defects_of(run, groups, flaky, outcome)
    _record_occurrences(run, groups, defects, outcome)
    if first_time:
        per_scenario = {k: g for k, g in groups.items() if g.kind == Defect.Kind.DEFECT}
        outcome.shared_causes = _shared_causes(run, per_scenario, defects)
    _notify(run, outcome)
    return outcome


def defect_path(defect: Defect) -> str:
    return reverse("defect_detail", kwargs={"slug": defect.project.slug, "defect_id": defect.pk})
