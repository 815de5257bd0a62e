"""The triage workflow: defects, owners, routing, escalation, runbook, notifications.

The tables keep the names they had when these models lived in the `triage` app: moving a
model between packages must not move a row."""

from django.conf import settings
from django.db import models

from runs.models import (
    FailureReason,
    Invariant,
    InvariantFailure,
    Project,
    Run,
    Scenario,
    ScenarioResult,
)


class DefectClass(models.TextChoices):
    UNCLASSIFIED = "unclassified", "Unclassified"
    INFRA = "infra", "Infra/CI"
    HARNESS = "harness", "Harness/diagnostics"
    ALGORITHM = "algorithm", "Algorithm regression"
    DATA = "data", "Data/schema drift"
    FLAKE = "flake", "Flake/concurrency"


class Team(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="teams", db_table="triage_team_members"
    )

    class Meta:
        db_table = "triage_team"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="team_name_unique_in_project")
        ]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """First matching rule, in `position` order, names the owning team; empty fields match all."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="routing_rules")
    position = models.PositiveIntegerField()
    # No team: a CODEOWNERS line without owners, which leaves matching defects unowned.
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    defect_class = models.CharField(max_length=16, choices=DefectClass.choices, blank=True)
    scenario_prefix = models.CharField(max_length=100, blank=True)
    invariant_prefix = models.CharField(max_length=100, blank=True)
    file_glob = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="e.g. CODEOWNERS line 12")

    class Meta:
        db_table = "triage_routingrule"
        ordering = ["project", "position", "id"]

    def __str__(self) -> str:
        return f"rule {self.position} → {self.team or 'nobody'}"


class Defect(models.Model):
    """Failures of one scenario and one invariant (or none: a harness gap) in one project; or
    an incident: failures of many scenarios with one reason (an outage), triaged once."""

    class Kind(models.TextChoices):
        DEFECT = "defect", "Defect"
        INCIDENT = "incident", "Incident"

    class State(models.TextChoices):
        NEW = "new", "New"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        REGRESSED = "regressed", "Regressed"
        MUTED = "muted", "Muted"
        RESOLVED = "resolved", "Resolved"

    OPEN_STATES = (State.NEW, State.ACKNOWLEDGED, State.REGRESSED)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="defects")
    kind = models.CharField(
        max_length=8, choices=Kind.choices, default=Kind.DEFECT, db_default=Kind.DEFECT
    )
    # None for an incident, which spans scenarios.
    scenario = models.ForeignKey(
        Scenario, null=True, blank=True, on_delete=models.PROTECT, related_name="defects"
    )
    invariant = models.ForeignKey(
        Invariant, null=True, blank=True, on_delete=models.PROTECT, related_name="defects"
    )
    # An incident's reason; a defect's first failure reason (similar failures).
    reason = models.ForeignKey(
        FailureReason, null=True, blank=True, on_delete=models.SET_NULL, related_name="defects"
    )
    # "<scenario key>|<invariant key or empty>", or "incident|<reason key>": the grouping key,
    # unique within a project.
    fingerprint = models.CharField(max_length=520)
    # How many scenarios the item covers: 1 for a defect, those it hit for an incident.
    scenario_count = models.PositiveIntegerField(default=1, db_default=1)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    defect_class = models.CharField(
        max_length=16, choices=DefectClass.choices, default=DefectClass.UNCLASSIFIED
    )
    # A suggestion is kept apart from the decision above and never applied silently.
    suggested_class = models.CharField(max_length=16, choices=DefectClass.choices, blank=True)
    suggestion_reason = models.CharField(max_length=500, blank=True)
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="defects"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_defects",
    )
    routed_by = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mute_reason = models.CharField(max_length=500, blank=True)
    muted_until = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    occurrence_count = models.PositiveIntegerField(default=0)
    last_run = models.ForeignKey(Run, null=True, on_delete=models.SET_NULL, related_name="+")
    escalated_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # When Triage first recorded it: the escalation clock starts here, not at the run's start.
    created_at = models.DateTimeField(auto_now_add=True)
    # Who made the last change that bumped `version`; None is Triage itself.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Bumped by every change; an action names the version it saw, so a concurrent change
    # is detected instead of overwritten.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "triage_defect"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "fingerprint"], name="defect_fingerprint_unique"
            )
        ]
        indexes = [
            # Defect list and API: a project's defects by state, newest activity first.
            models.Index(fields=["project", "state", "-last_seen"], name="defect_state_recent"),
            # My queue: open defects of some teams, oldest first.
            models.Index(fields=["owner_team", "state", "first_seen"], name="defect_team_queue"),
            # Escalation sweep: unclassified defects by age.
            models.Index(
                fields=["defect_class", "created_at"],
                condition=models.Q(escalated_at__isnull=True),
                name="defect_unescalated",
            ),
        ]

    def __str__(self) -> str:
        return self.fingerprint

    @property
    def invariant_key(self) -> str:
        return self.invariant.key if self.invariant_id else ""

    @property
    def is_incident(self) -> bool:
        return self.kind == self.Kind.INCIDENT

    @property
    def scenario_key(self) -> str:
        return self.scenario.key if self.scenario_id else ""

    @property
    def scenario_file(self) -> str:
        return self.scenario.file if self.scenario_id else ""

    @property
    def title(self) -> str:
        """What the item is, in a line: its scenario and invariant, or an incident's reason."""
        if self.is_incident:
            reason = self.reason.text if self.reason_id else "one reason"
            return f"{reason} ({self.scenario_count} scenarios)"
        return f"{self.scenario_key} / {self.invariant_key or 'no invariant id'}"

    @property
    def is_diagnostics_gap(self) -> bool:
        return not self.is_incident and self.invariant_id is None


class DefectOccurrence(models.Model):
    """One failing result that belongs to a defect: the link from a defect to each run."""

    defect = models.ForeignKey(Defect, on_delete=models.CASCADE, related_name="occurrences")
    result = models.ForeignKey(ScenarioResult, on_delete=models.CASCADE, related_name="+")
    failure = models.ForeignKey(
        InvariantFailure, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "triage_defectoccurrence"
        constraints = [
            models.UniqueConstraint(fields=["defect", "result"], name="occurrence_once_per_result")
        ]
        indexes = [
            # A defect's occurrences over time (defect page).
            models.Index(fields=["defect", "-seen_at"], name="occurrence_history"),
        ]

    def __str__(self) -> str:
        return f"{self.defect_id} in run {self.run_id}"


class IncidentScenario(models.Model):
    """A scenario an incident has held, once however often it failed with it: the incident's
    scenario count is a count of these, which grows with the catalog, not with the nights."""

    # The unique constraint's leading column serves lookups by incident.
    defect = models.ForeignKey(Defect, on_delete=models.CASCADE, related_name="+", db_index=False)
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "triage_incidentscenario"
        constraints = [
            models.UniqueConstraint(fields=["defect", "scenario"], name="incident_scenario_once")
        ]

    def __str__(self) -> str:
        return f"scenario {self.scenario_id} in incident {self.defect_id}"


class DefectEvent(models.Model):
    """A line of a defect's timeline: who changed what, from what to what, and why."""

    class Kind(models.TextChoices):
        CREATED = "created", "created"
        STATE = "state", "state"
        CLASS = "class", "class"
        OWNER = "owner", "owner team"
        ASSIGNEE = "assignee", "assignee"
        COMMENT = "comment", "comment"
        MUTE = "mute", "muted"
        REGRESSION = "regression", "regressed"
        ESCALATION = "escalation", "escalated"
        RERUN = "rerun", "rerun"

    defect = models.ForeignKey(Defect, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "triage_defectevent"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["defect", "created_at"], name="event_timeline")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.defect_id}"

    @property
    def actor_name(self) -> str:
        return self.actor.get_username() if self.actor_id else "Triage"


class SharedCause(models.Model):
    """Failures of one run across 3+ scenario areas with one invariant kind or one error."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    signature = models.CharField(max_length=300, help_text="Invariant kind or error text")
    areas = models.CharField(max_length=300)
    defects = models.ManyToManyField(
        Defect, related_name="shared_causes", db_table="triage_sharedcause_defects"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "triage_sharedcause"
        constraints = [
            models.UniqueConstraint(fields=["run", "signature"], name="shared_cause_once_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.signature} across {self.areas}"


class TriageSettings(models.Model):
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="triage")
    escalate_after_minutes = models.PositiveIntegerField(default=20)
    # One run failing this many scenarios with one reason, or this share of its scenarios
    # (three at least), is one incident rather than a defect per scenario.
    incident_min_scenarios = models.PositiveIntegerField(
        default=5, db_default=5, help_text="Scenarios failing with one reason in one run"
    )
    incident_min_percent = models.PositiveIntegerField(
        default=20, db_default=20, help_text="…or this percentage of the run's scenarios"
    )
    notify_emails = models.TextField(blank=True, help_text="One address per line")
    webhook_url = models.URLField(blank=True, help_text="Slack-compatible incoming webhook")
    github_repository = models.CharField(max_length=200, blank=True, help_text="owner/name")
    github_token_encrypted = models.TextField(blank=True)

    class Meta:
        db_table = "triage_triagesettings"

    def __str__(self) -> str:
        return f"triage settings of {self.project}"


class Notification(models.Model):
    """An outbox row: written with the event that causes it, sent by a task with retries."""

    class Channel(models.TextChoices):
        EMAIL = "email", "email"
        WEBHOOK = "webhook", "webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    defect = models.ForeignKey(
        Defect, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    recipients = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a task claims the row; a sending row whose claim is old lost its worker.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "triage_notification"
        indexes = [
            # The sweep that re-queues notifications whose task never ran.
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending"),
                name="notification_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.subject}"


class RunbookVersion(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runbooks")
    number = models.PositiveIntegerField()
    markdown = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "triage_runbookversion"
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="runbook_version_unique")
        ]

    def __str__(self) -> str:
        return f"runbook v{self.number} of {self.project}"


class RunbookLink(models.Model):
    """Sends defects of a class, invariant prefix or scenario prefix to a runbook section."""

    class Kind(models.TextChoices):
        CLASS = "class", "class"
        INVARIANT_PREFIX = "invariant", "invariant prefix"
        SCENARIO_PREFIX = "scenario", "scenario prefix"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runbook_links")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    match = models.CharField(max_length=100)
    anchor = models.CharField(max_length=200)

    class Meta:
        db_table = "triage_runbooklink"
        ordering = ["kind", "match"]

    def __str__(self) -> str:
        return f"{self.kind} {self.match} → #{self.anchor}"


class TriagedRun(models.Model):
    """Marks a run whose failures were grouped into defects, so a sweep can catch up."""

    run = models.OneToOneField(Run, on_delete=models.CASCADE, primary_key=True, related_name="+")
    triaged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "triage_triagedrun"

    def __str__(self) -> str:
        return f"run {self.run_id} triaged"
