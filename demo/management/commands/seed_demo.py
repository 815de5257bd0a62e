from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from demo.history import demo_reports
from demo.triage import demo_rerun_setup, demo_triage_decisions, demo_triage_setup
from reruns.arrivals import report_arrived
from runs.ingest import ReportConflict
from runs.models import Membership, Project
from runs.projects import membership_grant, project_create

DEMO_SLUG = "acme-dispatch"


class Command(BaseCommand):
    help = "Load a demo project with 60 days of run history, defects and a demo login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-triage")

    def handle(self, *args: object, username: str, password: str, **options: object) -> None:
        users = get_user_model()
        user = users.objects.filter(username=username).first()
        if user is None:
            user = users.objects.create_user(
                username=username, password=password, email=f"{username}@example.test"
            )
            login_line = f"Demo login: {username} / {password}"
        else:
            login_line = f"Demo login: {username} (existing user, password unchanged)"
        project = Project.objects.filter(slug=DEMO_SLUG).first()
        token = None
        if project is None:
            project, token = project_create(slug=DEMO_SLUG, name="Acme Dispatch")
        membership_grant(project=project, user=user, role=Membership.Role.ADMIN)
        demo_triage_setup(project=project, user=user)
        added = 0
        for report in demo_reports(datetime.now(UTC).date()):
            try:
                outcome = report_arrived(project=project, report=report)
            except ReportConflict:
                # Loaded on an earlier day, when this run sat at another age in the story.
                continue
            added += outcome.created
        demo_triage_decisions(project=project, user=user)
        if demo_rerun_setup(project=project):
            self.stdout.write("Rerun on the demo runs the demo suite (demo/suite).")
        total = project.runs.count()
        self.stdout.write(f"Demo project {DEMO_SLUG!r}: {added} runs added, {total} in all.")
        self.stdout.write(login_line)
        if token:
            self.stdout.write(f"CI token for {DEMO_SLUG!r} (shown only once): {token}")
