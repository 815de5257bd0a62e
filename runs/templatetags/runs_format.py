from datetime import UTC, datetime
from urllib.parse import quote

from django import template

from runs.markup import markup

register = template.Library()


@register.filter
def duration(milliseconds: int | None) -> str:
    """5120 -> '5.1s', 511000 -> '8m 31s', 7_300_000 -> '2h 1m'."""
    if milliseconds is None:
        return "—"
    if milliseconds < 1000:
        return f"{milliseconds}ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.filter
def moment(value: datetime | None) -> str:
    """A time as <time>: written in UTC (the zone named), shown by the page's script in the
    reader's own zone, the exact instant on hover."""
    if value is None:
        return "—"
    instant = value.astimezone(UTC)
    # Escaped as format_html would, without its checks: tables call this once a row.
    return markup(
        '<time class="moment" datetime="{}" title="{} UTC">{} UTC</time>',
        instant.isoformat().replace("+00:00", "Z"),
        instant.strftime("%Y-%m-%d %H:%M:%S"),
        instant.strftime("%Y-%m-%d %H:%M"),
    )


@register.filter
def artifact_url(path: str, base: str = "") -> str:
    """An artifact's link: itself when it is an http(s) URL, or the project's base URL with
    the relative path; "" when there is none (a path on the CI machine)."""
    text = (path or "").strip()
    if text.startswith(("https://", "http://")):
        return text
    if not base or not text or text.startswith("/") or ".." in text.split("/"):
        return ""
    return base.rstrip("/") + "/" + quote(text)
