from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from runs.markup import markup_join

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
    return format_html(
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


# A trend's "Numbers" tables hold a row per day and per run (hundreds on a 90-day overview);
# built here, every value escaped, they cost a fraction of drawing them through the template
# language, which was half of the page's time.


@register.simple_tag
def day_rows(days: Iterable[Any]) -> SafeString:
    """Table rows of the days that had runs: day, runs, passed, executed, pass rate."""
    return markup_join(
        "\n",
        '<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td>'
        '<td class="num">{}</td><td class="num">{}</td></tr>',
        (
            (
                day.day.strftime("%Y-%m-%d"),
                day.runs,
                day.passed,
                day.executed,
                "—" if day.rate is None else f"{day.rate}%",
            )
            for day in days
            if day.runs
        ),
    )


@register.simple_tag
def duration_rows(runs: Iterable[Any], slug: str) -> SafeString:
    """Table rows of runs: a link to the run, when it started, how long it took (red when
    over the suite's budget)."""
    run_list = reverse("run_list", kwargs={"slug": slug})
    return markup_join(
        "\n",
        '<tr><td><a href="{}{}/">{}</a></td><td>{}</td><td class="num{}">{}</td></tr>',
        (
            (
                run_list,
                run.pk,
                run.external_id,
                moment(run.started_at),
                " over-budget" if run.over_budget else "",
                duration(run.duration_ms),
            )
            for run in runs
        ),
    )
