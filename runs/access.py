"""Who may see what: every page reaches a project through here, and 404s outside it."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from runs.models import Project


def projects_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def project_for_user(user: AbstractBaseUser | AnonymousUser, slug: str) -> Project:
    """The project, or 404 for one that does not exist or that the user is not in."""
    return get_object_or_404(projects_visible_to(user), slug=slug)
