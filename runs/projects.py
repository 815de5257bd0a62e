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
