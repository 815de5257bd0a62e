"""A rerun's steps, written on the timeline of the defect it was asked from."""

from django.contrib.auth.models import AbstractBaseUser

from defects.models import Defect, DefectEvent


def rerun_event(
    defect: Defect | None, actor: AbstractBaseUser | None, to_value: str, text: str
) -> None:
    if defect is not None:
        DefectEvent.objects.create(
            defect=defect, actor=actor, kind=DefectEvent.Kind.RERUN, to_value=to_value, text=text
        )
