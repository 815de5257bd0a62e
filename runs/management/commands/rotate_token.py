import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.models import Project
from runs.tokens import project_token_rotate, project_tokens_revoke, signing_secret_set

DURATION = re.compile(r"^(\d+)([hdm])$")


class Command(BaseCommand):
    help = (
        "Issue a new CI token for a project (printed once, as the last line). The old tokens "
        "keep working for --overlap, or stop at once with --revoke-now. --signing-secret also "
        "issues a new signing secret, after which reports must be signed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--overlap", default="24h", help="e.g. 24h, 7d, 30m")
        parser.add_argument("--revoke-now", action="store_true")
        parser.add_argument("--signing-secret", action="store_true")

    def handle(self, *args: object, slug: str, overlap: str, revoke_now: bool,
               signing_secret: bool, **_: object) -> None:  # fmt: skip
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"no project {slug!r}")
        match = DURATION.match(overlap)
        if not match:
            raise CommandError("--overlap takes minutes, hours or days, e.g. 24h")
        amount, unit = int(match.group(1)), match.group(2)
        if revoke_now:
            revoked = project_tokens_revoke(project=project)
            self.stdout.write(f"Revoked {revoked} token(s) of {slug!r}.")
            token = project_token_rotate(project=project, overlap=timedelta(0))
        else:
            delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount),
                     "d": timedelta(days=amount)}[unit]  # fmt: skip
            token = project_token_rotate(project=project, overlap=delta)
            self.stdout.write(f"The previous token(s) of {slug!r} work for another {overlap}.")
        if signing_secret:
            secret = signing_secret_set(project=project)
            self.stdout.write(f"Signing secret (shown once): {secret}")
        self.stdout.write(f"New CI token for {slug!r} (shown only once):")
        self.stdout.write(token)
