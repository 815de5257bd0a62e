"""Reruns: how a project's reruns reach CI, and each request to run scenarios again.

The tables keep the names they had when these models lived in the `triage` app."""

from django.conf import settings
from django.db import models

from defects.models import Defect
from runs.models import Project, Run


class Dispatcher(models.Model):
    """How a project's reruns reach CI; configured by a project admin."""

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub Actions (workflow_dispatch)"
        WEBHOOK = "webhook", "Generic webhook (HMAC-signed JSON)"
        COMMAND = "command", "Local command (defined by the operator)"

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="dispatcher")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    github_repository = models.CharField(max_length=200, blank=True, help_text="owner/name")
    github_workflow = models.CharField(
        max_length=200, blank=True, help_text="Workflow file name or id, e.g. rerun.yml"
    )
    github_token_encrypted = models.TextField(blank=True)
    github_token_env = models.CharField(
        max_length=100, blank=True, help_text="Or: the environment variable that holds the token"
    )
    webhook_url = models.URLField(blank=True)
    webhook_secret_encrypted = models.TextField(blank=True)
    command_name = models.CharField(
        max_length=100, blank=True, help_text="One of the commands in the server's settings"
    )
    max_concurrent = models.PositiveIntegerField(default=3)
    timeout_minutes = models.PositiveIntegerField(default=60)

    class Meta:
        db_table = "triage_dispatcher"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.project}"


class Rerun(models.Model):
    """A request to run some scenarios again in CI: a row first, dispatched by a task."""

    class State(models.TextChoices):
        REQUESTED = "requested", "requested"
        DISPATCHING = "dispatching", "dispatching"
        DISPATCHED = "dispatched", "dispatched"
        RUNNING = "running", "running"
        PASSED = "passed", "passed"
        FAILED = "failed", "failed"
        ERROR = "error", "error"
        TIMED_OUT = "timed_out", "timed out"
        CANCELLED = "cancelled", "cancelled"

    ACTIVE = (State.REQUESTED, State.DISPATCHING, State.DISPATCHED, State.RUNNING)

    class Ref(models.TextChoices):
        COMMIT = "commit", "the failing commit"
        BRANCH = "branch", "the branch head"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reruns")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    defect = models.ForeignKey(
        Defect, null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    scenario_keys = models.JSONField(default=list)
    ref_kind = models.CharField(max_length=8, choices=Ref.choices, default=Ref.COMMIT)
    branch = models.CharField(max_length=255, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    # Passed to CI and echoed back in the rerun's report; also authenticates status callbacks.
    token = models.CharField(max_length=64, unique=True)
    # One per click: a double submit of the same form finds the row it already made.
    idempotency_key = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.REQUESTED)
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    output_tail = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    ci_url = models.URLField(blank=True, max_length=2000)
    report_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "triage_rerun"
        ordering = ["-created_at", "-id"]
        indexes = [
            # Sweep and timeouts: active reruns by age; also the per-project concurrency count.
            models.Index(
                fields=["project", "state", "created_at"],
                condition=models.Q(state__in=["requested", "dispatching", "dispatched", "running"]),
                name="rerun_active",
            ),
            models.Index(fields=["source_run", "-created_at"], name="rerun_by_run"),
        ]

    def __str__(self) -> str:
        return f"rerun {self.pk} of {', '.join(self.scenario_keys)}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE
