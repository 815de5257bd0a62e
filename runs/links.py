"""Links to the pages of many catalog entries or runs at once: the project's part of the address
reversed once, each key quoted as `reverse` quotes it."""

from collections.abc import Callable
from urllib.parse import quote

from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

# What `reverse` leaves unquoted in a path segment (RFC 3986's pchar).
_PATH_SAFE = RFC3986_SUBDELIMS + "/~:@"


def keyed_urls(route: str, slug: str) -> Callable[[str], str]:
    """`reverse(route)` for many keys of one project. The route's key is a `path` segment,
    so any text matches it, as it would in `reverse`."""
    sample = "k"
    address = reverse(route, kwargs={"slug": slug, "key": sample})
    prefix = address.removesuffix(f"{sample}/")
    return lambda key: f"{prefix}{quote(key, safe=_PATH_SAFE)}/"


def scenario_urls(slug: str) -> Callable[[str], str]:
    return keyed_urls("scenario", slug)


def invariant_urls(slug: str) -> Callable[[str], str]:
    return keyed_urls("invariant", slug)


def run_urls(slug: str) -> Callable[[int], str]:
    """`reverse("run_detail")` for many runs of one project (a run's id is digits)."""
    sample = 1
    address = reverse("run_detail", kwargs={"slug": slug, "run_id": sample})
    prefix = address.removesuffix(f"{sample}/")
    return lambda run_id: f"{prefix}{run_id}/"
