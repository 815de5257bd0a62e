"""Teams of a project: who owns the defects a routing rule sends to the team."""

from django.contrib.auth import get_user_model
from django.db import transaction

from defects.models import Team
from runs.models import Project


class NotMembers(ValueError):
    pass


@transaction.atomic
def team_save(*, project: Project, name: str, usernames: list[str]) -> Team:
    """Create the team or replace its members; every member must be in the project."""
    users = list(
        get_user_model().objects.filter(username__in=usernames, memberships__project=project)
    )
    missing = set(usernames) - {user.get_username() for user in users}
    if missing:
        raise NotMembers("Not members of this project: " + ", ".join(sorted(missing)))
    team, _ = Team.objects.get_or_create(project=project, name=name)
    team.members.set(users)
    return team
