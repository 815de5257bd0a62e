"""The URL conf's named routes, filled in with ids: for matrices over every route."""

import re

from django.urls import URLPattern, URLResolver, get_resolver


def named_routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            yield from named_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, prefix + str(entry.pattern)


def fill(route: str, name: str, values: dict[str, object]) -> str:
    def value(match: re.Match) -> str:
        param = match.group(2)
        if param == "key":
            return str(values["invariant" if name == "invariant" else "scenario"])
        if param not in values:
            raise AssertionError(f"the isolation matrix does not know <{param}> of {name}")
        return str(values[param])

    return "/" + re.sub(r"<(\w+:)?(\w+)>", value, route)
