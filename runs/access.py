"""Who may see what: every page reaches a project through here, and 404s outside it."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from runs.models import Membership, Project

User = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class ProjectAccess:
    """A project and the caller's role in it, read together once per request."""

    project: Project
    role: str

    def allows(self, role: str) -> bool:
        return self.role in Membership.roles_at_least(role)

    @property
    def can_triage(self) -> bool:
        return self.allows(Membership.Role.TRIAGER)

    @property
    def is_admin(self) -> bool:
        return self.allows(Membership.Role.ADMIN)


def projects_visible_to(user: User) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def project_access(user: User, slug: str, *, role: str = Membership.Role.VIEWER) -> ProjectAccess:
    """The project and the caller's role, or 404 for a project that does not exist or that
    the user is not in. A member whose role is below `role` gets 403: they may know the
    project exists."""
    access = None
    if user.is_authenticated and user.is_superuser:
        project = Project.objects.filter(slug=slug).first()
        access = project and ProjectAccess(project, Membership.Role.ADMIN)
    elif user.is_authenticated:
        membership = (
            Membership.objects.select_related("project")
            .filter(project__slug=slug, user=user)
            .first()
        )
        access = membership and ProjectAccess(membership.project, membership.role)
    if not access:
        raise Http404("no such project")
    if not access.allows(role):
        raise PermissionDenied(f"this needs the {role} role in {access.project.slug}")
    return access
