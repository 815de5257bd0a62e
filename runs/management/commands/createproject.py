from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from runs.models import Membership, Project
from runs.projects import membership_grant, project_create


class Command(BaseCommand):
    help = "Create a project and print its CI token (shown only this once) as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="URL name of the project, e.g. dispatch-app")
        parser.add_argument("--name", help="Display name (defaults to the slug)")
        parser.add_argument(
            "--member", action="append", default=[], help="Username to add as a triager"
        )
        parser.add_argument(
            "--admin", action="append", default=[], help="Username to add as an admin"
        )

    def handle(
        self,
        *args: object,
        slug: str,
        name: str | None,
        member: list[str],
        admin: list[str],
        **options: object,
    ) -> None:
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"{slug!r} is not a valid slug: letters, digits, - and _") from exc
        if Project.objects.filter(slug=slug).exists():
            raise CommandError(f"a project {slug!r} already exists")
        grants = []
        for usernames, role in ((member, Membership.Role.TRIAGER), (admin, Membership.Role.ADMIN)):
            for username in usernames:
                user = get_user_model().objects.filter(username=username).first()
                if user is None:
                    raise CommandError(f"no user {username!r}")
                grants.append((user, role))
        project, token = project_create(slug=slug, name=name or slug)
        for user, role in grants:
            membership_grant(project=project, user=user, role=role)
        self.stdout.write(f"Created project {project.slug!r}. Its token is shown only once:")
        self.stdout.write(token)
