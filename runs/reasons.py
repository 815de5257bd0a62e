"""A failure's reason: its message with the parts that change from one failure to the next
(numbers, addresses, times, ids, quoted values, paths) made placeholders, so that one cause
reads the same wherever and whenever it struck."""

import hashlib
import re
from collections.abc import Mapping

MAX_REASON = 300
NO_MESSAGE = "(no message)"
_PLACEHOLDERS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}"
            r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
        "<time>",
    ),
    (re.compile(r"\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\b"), "<time>"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>)]+", re.I), "<url>"),
    (
        re.compile(r"\[?(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\]?(?::\d{1,5})?(?![\w:])", re.I),
        "<address>",
    ),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"), "<address>"),
    (
        re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I),
        "<hex>",
    ),
    (re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"|`[^`\n]{1,200}`"), "<quoted>"),
    (re.compile(r"(?<![\w<])(?:[A-Za-z]:)?(?:[\\/][\w.@-]+){2,}"), "<path>"),
    # Lowercase ids with a number (asg-311, drv-a-2, bw-17); TENANT-004 style ids stay.
    (re.compile(r"\b[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*[-_]\d+\b"), "<id>"),
    # Not the number of an id such as TENANT-004.
    (re.compile(r"(?<![\w<-])[-+]?\d+(?:[.,]\d+)?(?:ms|s|m|h|kb|mb|gb|%)?\b", re.I), "<n>"),
]
_SPACES = re.compile(r"\s+")


def failure_reason(
    message: str, observed: str = "", entity_ids: Mapping[str, object] | None = None
) -> str:
    """The reason of one failure: the first line of its message (or of what was observed),
    with the values that vary made placeholders; the failure's own entity ids become their
    names (`<driverId>`)."""
    text = _first_line(message) or _first_line(observed)
    if not text:
        return NO_MESSAGE
    text = text[: MAX_REASON * 2]
    for name, value in sorted(
        (
            (str(n), str(v))
            for n, v in (entity_ids or {}).items()
            if v is not None and len(str(v)) > 1
        ),
        key=lambda item: -len(item[1]),
    ):
        if value in text:
            # Compiled only for a value the text holds: most ids are not in their message,
            # and a pattern of each id is a compile per failure that no cache keeps.
            placeholder = f"<{name[:40]}>"
            # A function, not a template: a name is the report's text, and a backslash in it
            # would be read as an escape or a group reference.
            text = re.sub(
                rf"(?<![\w-]){re.escape(value)}(?![\w-])", lambda _, p=placeholder: p, text
            )
    for pattern, placeholder in _PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return _SPACES.sub(" ", text).strip()[:MAX_REASON] or NO_MESSAGE


def reason_key(reason: str) -> str:
    """The catalog key of a reason: its text may be longer than an index holds."""
    return hashlib.sha256(reason.encode()).hexdigest()[:40]


def _first_line(text: str) -> str:
    for line in (text or "")[:20_000].splitlines():
        if line.strip():
            return line.strip()
    return ""
