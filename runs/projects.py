"""Writes for projects and who may see them."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from runs.models import Membership, Project
from runs.tokens import project_token_issue


@transaction.atomic
def project_create(*, slug: str, name: str) -> tuple[Project, str]:
    """Create a project and its first token; the token is returned once and never again."""
    project = Project.objects.create(slug=slug, name=name)
    return project, project_token_issue(project=project)


def membership_grant(
    *, project: Project, user: AbstractBaseUser, role: str = Membership.Role.TRIAGER
) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


class LastAdmin(Exception):
    """A project keeps at least one admin: nobody could manage it otherwise."""


@transaction.atomic
def membership_change(
    *, project: Project, user: AbstractBaseUser, role: str | None
) -> Membership | None:
    """Give `user` another role in `project`, or take them out of it (`role` None)."""
    memberships = Membership.objects.select_for_update().filter(project=project)
    admins = [m.user_id for m in memberships if m.role == Membership.Role.ADMIN]
    if admins == [user.pk] and role != Membership.Role.ADMIN:
        raise LastAdmin(f"{user.get_username()} is the project's only admin")
    if role is None:
        memberships.filter(user=user).delete()
        return None
    return membership_grant(project=project, user=user, role=role)
