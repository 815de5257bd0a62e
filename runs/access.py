"""Who may see what: every page reaches a project through here, and 404s outside it."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from runs.models import Membership, Project

ROLE_RANK = {Membership.Role.VIEWER: 0, Membership.Role.TRIAGER: 1, Membership.Role.ADMIN: 2}


def projects_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def role_in(user: AbstractBaseUser | AnonymousUser, project: Project) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Membership.Role.ADMIN
    return (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )


def has_role(user: AbstractBaseUser | AnonymousUser, project: Project, role: str) -> bool:
    """Whether the user holds `role`, or a stronger one, in the project."""
    held = role_in(user, project)
    return held is not None and ROLE_RANK[held] >= ROLE_RANK[role]


def project_for_user(
    user: AbstractBaseUser | AnonymousUser, slug: str, *, role: str = Membership.Role.VIEWER
) -> Project:
    """The project, or 404 for one that does not exist or that the user is not in.

    A member whose role is below `role` gets 403: they may know the project exists.
    """
    if role == Membership.Role.VIEWER:
        return get_object_or_404(projects_visible_to(user), slug=slug)
    project = get_object_or_404(projects_visible_to(user), slug=slug)
    if not has_role(user, project, role):
        raise PermissionDenied(f"this needs the {role} role in {project.slug}")
    return project
