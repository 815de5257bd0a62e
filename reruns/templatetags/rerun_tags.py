import uuid

from django import template

register = template.Library()


@register.simple_tag
def new_request_key() -> str:
    """A fresh key per rendered form: a double submit of that form repeats the key."""
    return uuid.uuid4().hex
