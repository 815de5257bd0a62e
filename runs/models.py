from django.conf import settings
from django.db import models


class Project(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    default_branch = models.CharField(max_length=255, default="main")
    smoke_suite = models.CharField(
        max_length=100,
        default="smoke",
        help_text="Its scenarios must be a subset of the full suite.",
    )
    full_suite = models.CharField(
        max_length=100, default="full", help_text="The nightly suite whose green streak counts."
    )
    streak_target = models.PositiveIntegerField(
        default=7, help_text="Consecutive green nightly runs that make the program done."
    )
    scenario_id_pattern = models.CharField(
        max_length=300,
        blank=True,
        help_text="Regular expression finding scenario ids in JUnit test names (default: BID-001)",
    )
    invariant_id_pattern = models.CharField(
        max_length=300,
        blank=True,
        help_text="Regular expression finding invariant ids in JUnit failure messages",
    )
    # When set, every report must carry X-Triage-Timestamp and X-Triage-Signature headers.
    signing_secret_encrypted = models.TextField(blank=True)
    artifact_base_url = models.URLField(
        blank=True,
        help_text="Relative artifact paths become links under this address, e.g. "
        "https://ci.example.com/artifacts/",
    )
    repro_env = models.CharField(
        max_length=500, blank=True, help_text="Environment for the repro command, e.g. TZ=UTC"
    )

    class RepeatedTestcase(models.TextChoices):
        RETRIES = "retries", "Retries of one test (attempt 1, 2, ...)"
        DISTINCT = "distinct", "Distinct tests (numbered #1, #2, ...)"

    repeated_testcase = models.CharField(
        max_length=16,
        choices=RepeatedTestcase.choices,
        default=RepeatedTestcase.RETRIES,
        help_text="How to read an XML report that lists the same test case twice in one suite.",
    )
    repro_command = models.CharField(
        max_length=1000,
        blank=True,
        help_text=(
            'Local repro command; {scenarioId} is replaced, e.g. pnpm exec vitest -t "{scenarioId}"'
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProjectToken(models.Model):
    """A CI credential for posting reports. Only the SHA-256 of the token is kept."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(
        max_length=16, help_text="The token's first characters, to tell it apart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set on rotation: the old token keeps working until then, so CI can switch without a gap.
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.project.slug} {self.hint}…"


class Membership(models.Model):
    class Role(models.TextChoices):
        # Ordered by power: each role may do what the ones before it may.
        VIEWER = "viewer", "Viewer (read)"
        TRIAGER = "triager", "Triager (acts on defects)"
        ADMIN = "admin", "Admin (settings, rules, tokens)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_once_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"

    @classmethod
    def roles_at_least(cls, role: str) -> list[str]:
        """`role` and every stronger one: the role order is said here and nowhere else."""
        order = list(cls.Role.values)
        return order[order.index(role) :]


class Suite(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="suites")
    name = models.CharField(max_length=100)
    budget_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Runtime budget; runs longer than this are over budget."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="suite_name_unique_in_project")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def budget_ms(self) -> int | None:
        return None if self.budget_minutes is None else self.budget_minutes * 60_000

    def is_over_budget(self, duration_ms: int) -> bool:
        """Whether a run of this suite that took `duration_ms` went over its budget."""
        budget_ms = self.budget_ms
        return budget_ms is not None and duration_ms > budget_ms


class Scenario(models.Model):
    """The catalog entry of a scenario id (`BID-001`) in a project; results point here."""

    # The unique (project, key) index below serves every lookup by project.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="scenarios", db_index=False
    )
    key = models.CharField(max_length=300)
    area = models.CharField(max_length=32, blank=True)
    title = models.TextField(blank=True)
    file = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key"], name="scenario_key_unique_in_project"
            )
        ]

    def __str__(self) -> str:
        return self.key


class Invariant(models.Model):
    """The catalog entry of an invariant id (`TENANT-004`); `kind` is its prefix."""

    # The unique (project, key) index below serves every lookup by project.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="invariants", db_index=False
    )
    key = models.CharField(max_length=300)
    kind = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key"], name="invariant_key_unique_in_project"
            )
        ]

    def __str__(self) -> str:
        return self.key


class Status(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    ERROR = "error", "Error"


# A scenario in either state failed to show that it works: both count as failing.
FAILING = (Status.FAILED, Status.ERROR)


class Run(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    suite = models.ForeignKey(Suite, on_delete=models.PROTECT, related_name="runs")
    external_id = models.CharField(max_length=200, help_text="CI's id for this run attempt.")
    ci_url = models.TextField(blank=True)
    branch = models.CharField(max_length=255, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    trigger = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    duration_ms = models.BigIntegerField()
    rerun_of_external_id = models.CharField(max_length=200, blank=True)
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    rerun_token = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    # Counts are stored so that lists never re-count results.
    passed_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    diagnostics_gap_count = models.PositiveIntegerField(default=0)
    # Scenarios that failed and then passed on a retry within this run: the strongest flake
    # signal there is, counted apart from the statuses above (which count every attempt).
    flaky_count = models.PositiveIntegerField(default=0)
    # Results per area (a scenario id's prefix, "" for none) and status, {area: {status: n}},
    # counted at ingest as the counts above are. None for runs stored before it was kept: the
    # page counts those runs' results instead, as it does when these do not add up.
    area_counts = models.JSONField(null=True, blank=True, editable=False)
    # The digest of a run posted whole; empty for a run that arrives in parts (see RunPart).
    content_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    # A run in parts: how many parts CI said to expect (when it did), how many arrived, and
    # when the last one did, so checks that need the whole run know when to stop waiting.
    expected_parts = models.PositiveIntegerField(null=True, blank=True)
    parts_received = models.PositiveIntegerField(default=0, db_default=0)
    last_part_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # The idempotency key: one run per CI run id, also under concurrent posts.
            models.UniqueConstraint(
                fields=["project", "external_id"], name="run_external_id_unique_in_project"
            )
        ]
        indexes = [
            # Run list of a project, newest first, optionally narrowed to one suite or branch.
            models.Index(fields=["project", "-started_at"], name="run_project_started"),
            models.Index(fields=["project", "suite", "-started_at"], name="run_suite_started"),
            models.Index(fields=["project", "branch", "-started_at"], name="run_branch_started"),
            # Other runs of one commit, for the flake check at ingest.
            models.Index(fields=["project", "commit"], name="run_commit"),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def in_parts(self) -> bool:
        return self.parts_received > 0

    @property
    def parts_missing(self) -> int | None:
        """Parts still expected, or None when CI did not say how many to expect."""
        if self.expected_parts is None:
            return None
        return max(self.expected_parts - self.parts_received, 0)

    @property
    def total_count(self) -> int:
        return self.passed_count + self.failed_count + self.skipped_count + self.error_count

    @property
    def budget_ms(self) -> int | None:
        return self.suite.budget_ms

    @property
    def over_budget(self) -> bool:
        return self.suite.is_over_budget(self.duration_ms)


class RunPart(models.Model):
    """One report of a run that CI posts in parts (a shard, a browser, one file per class)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="parts")
    name = models.CharField(max_length=500)
    content_sha256 = models.CharField(max_length=64)
    scenario_count = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "name"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="run_part_name_unique")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.name}"


# Columns copied from a parent row (a result's project, a failure's run and project, an
# entity's project) keep no foreign key constraint of their own: the parent's constraint
# already ties them to rows that exist, and checking each of a report's ten thousand rows
# again at commit cost a tenth of storing it. Django still deletes them with their project
# or run. A result's scenario (and the failure's, copied from it) keeps none either: ingest
# takes the id from the catalog in the same transaction (a row it made, or one committed
# before), and no catalog row is ever deleted: nothing in Triage deletes scenarios, and
# Django refuses to delete one with results (PROTECT). Checking it again cost 45-55 ms of a
# 10,000-scenario report's 590-610 ms ingest. Raw SQL that deletes scenarios would leave
# results pointing nowhere.


class ScenarioResult(models.Model):
    # The foreign keys lead the composite indexes below, which serve their lookups too.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="results", db_index=False)
    # No constraint either: see the note above the class.
    scenario = models.ForeignKey(
        Scenario,
        on_delete=models.PROTECT,
        related_name="results",
        db_index=False,
        db_constraint=False,
    )
    position = models.PositiveIntegerField(help_text="Order in the report.")
    status = models.CharField(max_length=8, choices=Status.choices)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    # The configuration it ran under (`browser=webkit, os=linux`); empty when CI named none.
    # A test is a scenario in a variant: attempts repeat one variant, variants never retry.
    variant = models.CharField(max_length=500, blank=True, default="", db_default="")
    title = models.TextField(blank=True)
    file = models.TextField(blank=True)
    # A failed or errored scenario that does not name the invariant it broke is a harness defect.
    diagnostics_gap = models.BooleanField(default=False)
    # Copied from the run so one scenario's history is read from one index, without a join.
    started_at = models.DateTimeField()

    class Meta:
        ordering = ["run", "position"]
        indexes = [
            # One scenario across runs (scenario page, history strip).
            models.Index(fields=["scenario", "-started_at"], name="result_scenario_history"),
            # The results of some scenarios in one run (compare, flakes), and a run's counts by
            # status read from the index alone: with the run alone, the planner joined it with
            # the scenarios' whole history, which only grows.
            models.Index(fields=["run", "scenario", "status"], name="result_run_scenario"),
            # A page of a run's results in report order (the run page's list), read from the
            # index in order: without it, a 10,000-result run was sorted whole for each page,
            # joined with the project's whole catalog when the statistics were stale.
            models.Index(fields=["run", "position"], name="result_run_position"),
            # The failed results of one run (run page, grouping, reruns), however many results
            # the run has: failures are a few percent of results.
            models.Index(
                fields=["run"],
                condition=models.Q(status__in=["failed", "error"]),
                name="result_run_failing",
            ),
            # Recent diagnostics gaps of a project (overview).
            models.Index(
                fields=["project", "-started_at"],
                condition=models.Q(diagnostics_gap=True),
                name="result_recent_gaps",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scenario_id} in run {self.run_id}: {self.status}"


class FailureReason(models.Model):
    """What a failure says with the values that vary made placeholders (`runs.reasons`): one
    cause reads the same across scenarios, runs and days, so failures cluster by it."""

    # The unique (project, key) index below serves every lookup by project.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="reasons", db_index=False
    )
    key = models.CharField(max_length=40, help_text="Hash of the text.")
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="reason_key_unique_in_project")
        ]

    def __str__(self) -> str:
        return self.text


class InvariantFailure(models.Model):
    result = models.ForeignKey(ScenarioResult, on_delete=models.CASCADE, related_name="failures")
    # Copied from the result and run so invariant and scenario pages read one index each.
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, related_name="failures", db_constraint=False
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    scenario = models.ForeignKey(
        Scenario, on_delete=models.PROTECT, db_index=False, db_constraint=False
    )
    started_at = models.DateTimeField()
    invariant = models.ForeignKey(
        Invariant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="failures",
        db_index=False,
    )
    position = models.PositiveIntegerField()
    reason = models.ForeignKey(
        FailureReason,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="failures",
        db_index=False,
    )
    organization_under_test = models.CharField(max_length=255, blank=True)
    key_entity_ids = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    expected = models.TextField(blank=True)
    observed = models.TextField(blank=True)
    artifacts = models.JSONField(default=list, blank=True)
    # [{"label": str, "rows": [{column: value, ...}, ...]}, ...] exactly as the suite queried them.
    evidence = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["result", "position"]
        indexes = [
            # Blast radius of one invariant (invariant page), newest first.
            models.Index(fields=["invariant", "-started_at"], name="failure_invariant_history"),
            # Failures of one scenario by invariant (scenario page).
            models.Index(fields=["scenario", "-started_at"], name="failure_scenario_history"),
            # Every failure with one reason, newest first (reason page, similar failures).
            models.Index(fields=["reason", "-started_at"], name="failure_reason_history"),
        ]

    def __str__(self) -> str:
        return f"{self.invariant_id or 'no invariant'} in result {self.result_id}"


class Tally(models.Model):
    """How often failures of one kind struck one scenario, and when first and last: kept up at
    ingest (`runs.tallies`), so a page reads one row per scenario however long the history."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, db_index=False)
    failure_count = models.PositiveIntegerField()
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        abstract = True


class ReasonTally(Tally):
    """A failure reason in one scenario and variant (the reason page)."""

    # The unique constraint's leading column serves lookups by reason.
    reason = models.ForeignKey(
        FailureReason, on_delete=models.CASCADE, related_name="tallies", db_index=False
    )
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="reason_tallies")
    variant = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reason", "scenario", "variant"], name="reason_tally_once_per_test"
            )
        ]
        indexes = [models.Index(fields=["reason", "-last_seen"], name="reason_tally_latest")]

    def __str__(self) -> str:
        return f"reason {self.reason_id} x{self.failure_count} in scenario {self.scenario_id}"


class InvariantTally(Tally):
    """An invariant violated by one scenario (the invariant page's blast radius)."""

    # The unique constraint's leading column serves lookups by invariant.
    invariant = models.ForeignKey(
        Invariant, on_delete=models.CASCADE, related_name="tallies", db_index=False
    )
    scenario = models.ForeignKey(
        Scenario, on_delete=models.CASCADE, related_name="invariant_tallies"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invariant", "scenario"], name="invariant_tally_once_per_scenario"
            )
        ]
        indexes = [models.Index(fields=["invariant", "-last_seen"], name="invariant_tally_latest")]

    def __str__(self) -> str:
        return f"invariant {self.invariant_id} x{self.failure_count} in scenario {self.scenario_id}"


class SuiteDay(models.Model):
    """A suite's runs started on one day (UTC), and their tests that passed and that ran: the
    overview's pass rate per day, kept up at ingest (`runs.rollups`), so a trend reads a row a
    day however many runs a day brings."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, db_index=False)
    # The unique constraint's leading column serves lookups by suite.
    suite = models.ForeignKey(Suite, on_delete=models.CASCADE, db_index=False)
    day = models.DateField()
    runs = models.PositiveIntegerField()
    passed = models.PositiveIntegerField()
    executed = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["suite", "day"], name="suite_day_once")]
        indexes = [models.Index(fields=["project", "day"], name="suite_day_recent")]

    def __str__(self) -> str:
        return f"suite {self.suite_id} on {self.day}: {self.passed}/{self.executed}"


class ScenarioDay(models.Model):
    """How many results of one scenario failed (or errored) on one day (UTC), and when last:
    the overview's most failing scenarios, read a row per failing scenario and day."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, db_index=False)
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, db_index=False)
    day = models.DateField()
    failures = models.PositiveIntegerField()
    last_failed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scenario", "day"], name="scenario_day_once")
        ]
        indexes = [
            models.Index(
                fields=["project", "day"],
                include=["scenario", "failures", "last_failed_at"],
                name="scenario_day_recent",
            )
        ]

    def __str__(self) -> str:
        return f"scenario {self.scenario_id} on {self.day}: {self.failures} failing"


class FailureEntity(models.Model):
    """One key entity id of a failure (`assignmentId = asg-311`), so any id value is searchable."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    failure = models.ForeignKey(InvariantFailure, on_delete=models.CASCADE, related_name="entities")
    name = models.CharField(max_length=255)
    value = models.CharField(max_length=255)
    # Copied from the failure so a search for a common value reads its newest hits in order.
    started_at = models.DateTimeField()

    class Meta:
        indexes = [
            # Search by an entity id value within a project, newest first.
            models.Index(fields=["project", "value", "-started_at"], name="entity_value_search"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class ScenarioFlake(models.Model):
    """A scenario that both failed and passed on one commit: a flake, whatever a rerun says."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, db_index=False)
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="flakes")
    # Failing on webkit and passing on chromium is no flake: both runs are of one variant.
    variant = models.CharField(max_length=500, blank=True, default="", db_default="")
    commit = models.CharField(max_length=64)
    failed_run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    passed_run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    detected_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "variant", "commit"], name="flake_once_per_variant_commit"
            )
        ]
        indexes = [
            # Flaky scenarios of a project in a time window (overview).
            models.Index(fields=["project", "-detected_at"], name="flake_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.scenario_id} flaked on {self.commit}"
