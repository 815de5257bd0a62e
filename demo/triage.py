"""The triage side of the demo project: teams, routing rules, a runbook and a few decisions."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from defects.actions import defect_acknowledge, defect_classify, defect_resolve
from defects.models import Defect, DefectClass, DefectEvent, RoutingRule, RunbookLink, Team
from defects.routing import rules_import_codeowners
from defects.runbook import runbook_publish, runbook_render
from reruns.models import Dispatcher
from runs.models import Project

CODEOWNERS = """\
# Who owns which part of the integration suite
.github/workflows/                @acme/ci-maintainers
/tests/integration/harness/       @acme/harness-maintainers
/src/lib/server/services/         @acme/domain-services
/drizzle/                         @acme/schema-owners
"""

RUNBOOK = """\
# Integration test runbook

## Glossary

- **scenarioId**: the stable id of a scenario, e.g. `BID-001`.
- **invariantId**: the rule a scenario asserts, e.g. `TENANT-004`.

## First-response checklist

Within 10 minutes of a red run:

1. Read `scenarioId` and `invariantId` from the failure.
2. Fetch the artifacts listed on the failure.
3. Classify the failure (see the taxonomy below).
4. Reproduce the single scenario locally.
5. Fix it, or file a defect with the template at the end.

## Reproduce locally

```
TZ=UTC pnpm exec vitest -c vitest.integration.config.ts tests/integration --run -t "BID-001"
```

Reset the database with `pnpm db:reset` first; the seed is deterministic.

## Artifacts

Each failure lists its artifact paths: the JSON report, DB snapshots, screenshots and traces.

## Taxonomy

### Infra/CI

The database service is not healthy, env vars are missing, the toolchain fails.
Owned by the CI/workflow maintainers. Rerun once after the service is healthy.

### Harness/diagnostics

Reset or seed fails, clock helpers are wrong, ids or evidence are missing.
Owned by the harness maintainers.

### Algorithm regression

Business logic drifted and the failure reproduces locally. Owned by the domain service owners.

### Data/schema drift

The schema does not match, or the seed assumes old columns. Owned by the schema owners.

### Flake/concurrency

Timing- or order-dependent. Must be fixed deterministically: never "rerun until green".

## Tenant isolation failures

A `TENANT-*` failure means data crossed organizations. Look at the evidence rows whose org
differs from the organization under test, then check every query of that path for an org filter.

## Ownership and escalation

Escalate when a failure cannot be classified within 20 minutes, or when one cause hits several
scenario areas at once.

## Defect template

Title: `Integration failure: <scenarioId> / <invariantId> (<symptom>)`.
"""

LINKS = [
    (RunbookLink.Kind.CLASS, DefectClass.INFRA, "infraci"),
    (RunbookLink.Kind.CLASS, DefectClass.HARNESS, "harnessdiagnostics"),
    (RunbookLink.Kind.CLASS, DefectClass.ALGORITHM, "algorithm-regression"),
    (RunbookLink.Kind.CLASS, DefectClass.DATA, "dataschema-drift"),
    (RunbookLink.Kind.CLASS, DefectClass.FLAKE, "flakeconcurrency"),
    (RunbookLink.Kind.INVARIANT_PREFIX, "TENANT", "tenant-isolation-failures"),
    (RunbookLink.Kind.SCENARIO_PREFIX, "", "first-response-checklist"),
]


def demo_triage_setup(*, project: Project, user: AbstractBaseUser) -> None:
    """Teams, rules and runbook, unless the project has them already."""
    if project.teams.exists():
        return
    project.repro_env = "TZ=UTC"
    project.repro_command = (
        'pnpm exec vitest -c vitest.integration.config.ts tests/integration --run -t "{scenarioId}"'
    )
    project.save(update_fields=["repro_env", "repro_command"])
    teams = {
        name: Team.objects.create(project=project, name=name)
        for name in ("ci-maintainers", "harness-maintainers", "bidding", "scheduling")
    }
    teams["bidding"].members.add(user)
    teams["harness-maintainers"].members.add(user)
    hand_written = [
        {"team": teams["ci-maintainers"], "defect_class": DefectClass.INFRA},
        {"team": teams["harness-maintainers"], "defect_class": DefectClass.HARNESS},
        {"team": teams["bidding"], "scenario_prefix": "BID"},
        {"team": teams["bidding"], "scenario_prefix": "ADV"},
        {"team": teams["scheduling"], "scenario_prefix": "SCH"},
        {"team": teams["scheduling"], "scenario_prefix": "NOS"},
        {"team": teams["scheduling"], "scenario_prefix": "HLT"},
    ]
    for position, fields in enumerate(hand_written, start=1):
        RoutingRule.objects.create(project=project, position=position, **fields)
    rules_import_codeowners(project_id=project.pk, text=CODEOWNERS)
    version = runbook_publish(project=project, markdown=RUNBOOK, author=user)
    anchors = {section.anchor for section in runbook_render(version)[1]}
    for kind, match, anchor in LINKS:
        if anchor in anchors and match:
            RunbookLink.objects.create(project=project, kind=kind, match=match, anchor=anchor)


def demo_triage_decisions(*, project: Project, user: AbstractBaseUser) -> None:
    """A few decisions a team would have taken, so the demo shows every state."""
    leak = Defect.objects.filter(project=project, fingerprint="BID-004|TENANT-004").first()
    if leak and leak.state == Defect.State.NEW:
        leak = defect_acknowledge(defect=leak, version=leak.version, actor=user)
        defect_classify(
            defect=leak, version=leak.version, actor=user, defect_class=DefectClass.ALGORITHM,
            reason="reproduces locally: the fan-out query lacks an org filter",
        )  # fmt: skip
    fixed = Defect.objects.filter(project=project, fingerprint="NOS-003|STATE-002").first()
    if fixed and fixed.state == Defect.State.NEW:
        defect_resolve(
            defect=fixed, version=fixed.version, actor=user, reason="cutoff math fixed in #512"
        )
    _as_if_decided_then(leak, fixed)
    _as_if_recorded_then(project)


def _as_if_recorded_then(project: Project) -> None:
    """Each defect was recorded when its first failing run reported (the run took half an
    hour), not when the demo was loaded."""
    for defect in Defect.objects.filter(project=project):
        DefectEvent.objects.filter(
            defect=defect,
            actor__isnull=True,
            kind__in=[DefectEvent.Kind.CREATED, DefectEvent.Kind.OWNER],
        ).update(created_at=defect.first_seen + timedelta(minutes=35))


def _as_if_decided_then(*defects: Defect | None) -> None:
    """The decisions above were taken now; the story has them a few hours after each defect
    last failed, so the timeline reads in order."""
    for defect in defects:
        if defect is None:
            continue
        events = DefectEvent.objects.filter(defect=defect, actor__isnull=False).order_by("pk")
        for offset, event in enumerate(events, start=1):
            DefectEvent.objects.filter(pk=event.pk).update(
                created_at=defect.last_seen + timedelta(hours=2, minutes=5 * offset)
            )


DEMO_COMMAND = "demo"


def demo_rerun_setup(*, project: Project) -> bool:
    """Rerun on the demo runs the demo suite, when the server defines its command (`make run`
    does) and the project has no dispatcher of its own yet. True when set up now."""
    if DEMO_COMMAND not in settings.RERUN_COMMANDS or Dispatcher.objects.filter(project=project):
        return False
    Dispatcher.objects.create(
        project=project, kind=Dispatcher.Kind.COMMAND, command_name=DEMO_COMMAND, max_concurrent=2
    )
    return True
