"""Rows of the long tables (hundreds of rows a page), built in Python instead of the template
language, which cost more per row than everything else on those pages. Every value is
escaped (`runs.markup`) and formatted by the same filters the templates use, so the rows read
exactly as before."""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template.defaultfilters import truncatechars
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime

from runs.links import run_urls, scenario_urls
from runs.markup import markup, markup_join
from runs.templatetags.runs_format import duration, moment

register = template.Library()


@register.simple_tag
def day_rows(days: Iterable[Any]) -> SafeString:
    """A trend's days that had runs: day, runs, passed, executed, pass rate."""
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
    """A trend's runs: a link to the run, when it started, how long it took (red when over
    the suite's budget)."""
    run_url = run_urls(slug)
    return markup_join(
        "\n",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td class="num{}">{}</td></tr>',
        (
            (
                run_url(run.pk),
                run.external_id,
                moment(run.started_at),
                " over-budget" if run.over_budget else "",
                duration(run.duration_ms),
            )
            for run in runs
        ),
    )


def truncated(text: str, length: int) -> str:
    """`truncatechars`, with a short cut for the usual short ASCII text, which it returns as it
    is (ASCII has no combining characters and is its own normal form)."""
    if len(text) <= length and text.isascii():
        return text
    return truncatechars(text, length)


def _day(value: datetime) -> str:
    """`date:"Y-m-d"` in the reader's zone, without the format parser's per-call work."""
    return _ymd(template_localtime(value))


def _minute(value: datetime) -> str:
    """`date:"Y-m-d H:i"` in the reader's zone, likewise."""
    local = template_localtime(value)
    return f"{_ymd(local)} {local.hour:02d}:{local.minute:02d}"


def _ymd(local: datetime) -> str:
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"


@register.simple_tag
def blast_radius_rows(tallies: Iterable[Any], slug: str) -> SafeString:
    """An invariant's scenarios: the scenario, its area, failures, first and last seen."""
    scenario_url = scenario_urls(slug)
    return markup_join(
        "\n",
        '<tr><td><a class="mono" href="{}">{}</a> <span class="muted">{}</span></td>'
        '<td>{}</td><td class="num">{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                scenario_url(tally.scenario.key),
                tally.scenario.key,
                truncated(tally.scenario.title, 60),
                tally.scenario.area,
                tally.failure_count,
                _day(tally.first_seen),
                naturaltime(template_localtime(tally.last_seen)),
            )
            for tally in tallies
        ),
    )


@register.simple_tag
def reason_hit_rows(hits: Iterable[Any], slug: str) -> SafeString:
    """Where a failure reason struck: the scenario, its variant, failures, last seen."""
    scenario_url = scenario_urls(slug)
    return markup_join(
        "\n",
        '<tr><td><a class="mono" href="{}">{}</a></td>'
        '<td>{}</td><td class="num">{}</td><td>{}</td></tr>',
        (
            (
                scenario_url(hit.scenario_key),
                hit.scenario_key,
                hit.variant or "—",
                hit.count,
                naturaltime(template_localtime(hit.last_seen)),
            )
            for hit in hits
        ),
    )


# A failure's first cells: when, the run (to the result), the scenario.
_FAILURE_LEAD = (
    '<tr><td>{}</td><td><a href="{}#result-{}">{}</a></td>'
    + '<td><a class="mono" href="{}">{}</a></td>'
)


def _failure_table(
    failures: Iterable[Any], slug: str, last_cells: str, last: Callable[[Any], tuple]
) -> SafeString:
    """Rows of failures: the first cells every failure table has, then `last_cells` filled
    from `last(failure)`."""
    run_url, scenario_url = run_urls(slug), scenario_urls(slug)
    return markup_join(
        "\n",
        _FAILURE_LEAD + last_cells + "</tr>",
        (
            (
                moment(failure.started_at),
                run_url(failure.run_id),
                failure.result_id,
                failure.run.external_id,
                scenario_url(failure.scenario.key),
                failure.scenario.key,
                *last(failure),
            )
            for failure in failures
        ),
    )


@register.simple_tag
def reason_example_rows(failures: Iterable[Any], slug: str) -> SafeString:
    """A reason's latest failures: when, the run, scenario, the message as written."""
    return _failure_table(
        failures,
        slug,
        '<td class="wrap">{}</td>',
        lambda failure: (truncated(failure.message or failure.observed, 200),),
    )


@register.simple_tag
def failure_rows(failures: Iterable[Any], slug: str) -> SafeString:
    """Failures, latest first: when, the run, scenario, organization, message."""
    return _failure_table(
        failures,
        slug,
        '<td class="mono">{}</td><td class="wrap">{}</td>',
        lambda failure: (failure.organization_under_test, truncated(failure.message, 120)),
    )


@register.simple_tag
def result_rows(results: Iterable[Any], slug: str) -> SafeString:
    """A page of a run's results: status (and attempt), scenario (and variant), title,
    duration."""
    scenario_url = scenario_urls(slug)
    return markup_join(
        "\n",
        '<tr><td><span class="status status-{}">{}</span>{}</td>'
        '<td><a class="mono" href="{}">{}</a>{}</td>'
        '<td class="wrap">{}</td><td class="num">{}</td></tr>',
        (
            (
                result.status,
                result.status,
                _attempt(result.attempt),
                scenario_url(result.scenario.key),
                result.scenario.key,
                _variant(result.variant),
                truncated(result.title or result.scenario.title, 120),
                duration(result.duration_ms),
            )
            for result in results
        ),
    )


def _attempt(number: int) -> SafeString | str:
    return markup(' <span class="muted small">attempt {}</span>', number) if number > 1 else ""


def _variant(text: str) -> SafeString | str:
    return markup(' <span class="variant">{}</span>', text) if text else ""


@register.simple_tag
def strip_cells(results: Iterable[Any], slug: str, variant: str | None = None) -> SafeString:
    """A scenario's status strip: a cell per result linking to it, with the run, the suite
    (or `variant`, on a row of one variant), the time and the status; no result, no link."""
    run_url = run_urls(slug)
    return markup_join(
        "",
        "{}",
        ((_strip_cell(result, run_url, variant),) for result in results),
    )


def _strip_cell(result: Any, run_url: Callable[[int], str], variant: str | None) -> SafeString:
    if result is None:
        return markup('<span class="cell empty" title="not run in this variant"></span>')
    external_id = result.run.external_id
    return markup(
        '<a class="cell status-{}" href="{}#result-{}" title="{} · {} · {} · {}">'
        '<span class="visually-hidden">{} {}</span></a>',
        result.status,
        run_url(result.run_id),
        result.pk,
        external_id,
        result.run.suite.name if variant is None else variant,
        _minute(result.started_at),
        result.status,
        external_id,
        result.status,
    )


@register.simple_tag
def history_rows(results: Iterable[Any], slug: str) -> SafeString:
    """A scenario's results, newest first: run, suite, variant, commit, start, status, time."""
    run_url = run_urls(slug)
    return markup_join(
        "\n",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td class="mono">{}</td>'
        '<td>{}</td><td><span class="status status-{}">{}</span></td>'
        '<td class="num">{}</td></tr>',
        (
            (
                run_url(result.run_id),
                result.run.external_id,
                result.run.suite.name,
                result.variant or "—",
                truncated(result.run.commit, 12),
                moment(result.started_at),
                result.status,
                result.status,
                duration(result.duration_ms),
            )
            for result in results
        ),
    )
