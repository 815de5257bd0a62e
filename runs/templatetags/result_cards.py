"""The cards of a run's failing results on the run page: the result's header, then its repro
line, diagnostics gap and invariant failures (what broke, the ids it names, expected against
observed, the evidence tables, the artifacts). Built in Python for the same reason as
`table_rows`: a run shows up to 300 failing results with their evidence, and the template
language's cost per value was most of that page's time. Every value is escaped
(`runs.markup`); what other areas add to a card (its defect, its rerun form) stays in the
template's blocks between the two tags."""

from typing import Any

from django import template
from django.template.defaultfilters import pluralize, urlencode
from django.utils.safestring import SafeString, mark_safe

from runs.markup import markup, markup_join
from runs.templatetags.runs_format import artifact_url, duration

register = template.Library()


@register.simple_tag
def result_header(item: Any) -> SafeString:
    """A failing result (a `ResultView`): status, scenario, variant, title, duration, file."""
    result = item.result
    header = markup(
        '<header>\n<span class="status status-{}">{}</span>\n'
        '<h3 class="mono"><a href="{}">{}</a></h3>\n{}<span class="title">{}</span>\n'
        '<span class="muted">{}{}</span>\n</header>\n',
        result.status,
        result.status,
        item.scenario_url,
        result.scenario.key,
        markup('<span class="variant" title="ran under">{}</span>\n', result.variant)
        if result.variant
        else "",
        result.title or result.scenario.title,
        duration(result.duration_ms),
        f" · attempt {result.attempt}" if result.attempt > 1 else "",
    )
    if result.file:
        return markup('{}<p class="file mono">{}</p>\n', header, result.file)
    return header


@register.simple_tag
def result_details(item: Any, artifact_base_url: str, search_url: str) -> SafeString:
    """What follows a failing result's header: its repro command, its diagnostics gap and
    each of its invariant failures (`FailureView`s)."""
    parts = []
    if item.repro:
        parts.append(
            markup(
                '<p class="repro"><span class="muted">Repro</span> <code>{}</code> '
                '<button type="button" class="copy" data-copy="{}">Copy</button></p>\n',
                item.repro,
                item.repro,
            )
        )
    if item.result.diagnostics_gap:
        parts.append(
            '<p class="gap" role="note">Diagnostics gap: this failure '
            + (
                "does not name the invariant it broke"
                if item.failures
                else "reported no invariant failure"
            )
            + ". Treat it as a harness defect.</p>\n"
        )
    parts.extend(_failure(entry, artifact_base_url, search_url) for entry in item.failures)
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped markup or ours


def _failure(entry: Any, artifact_base_url: str, search_url: str) -> str:
    failure = entry.failure
    if failure.invariant:
        named = markup(
            '<a class="mono invariant" href="{}">{}</a>', entry.invariant_url, failure.invariant.key
        )
    else:
        named = '<span class="gap-tag">no invariant id</span>'
    message = markup(' <span class="message">{}</span>', failure.message) if failure.message else ""
    parts = [
        f'<div class="failure">\n<h4>{named}{message}</h4>\n<dl class="facts small">\n',
        markup(
            '<div><dt>Organization under test</dt><dd class="mono">{}</dd></div>\n',
            failure.organization_under_test or "—",
        ),
        markup_join(
            "",
            '<div><dt>{}</dt><dd class="mono">{}</dd></div>\n',
            ((name, _searchable(value, search_url)) for name, value in entry.entity_ids),
        ),
        "</dl>\n",
    ]
    if failure.expected or failure.observed:
        parts.append(
            markup(
                '<div class="compare">\n<div><h5>Expected</h5><pre>{}</pre></div>\n'
                "<div><h5>Observed</h5><pre>{}</pre></div>\n</div>\n",
                failure.expected,
                failure.observed,
            )
        )
    parts.extend(_evidence(table, failure.organization_under_test) for table in entry.evidence)
    if failure.artifacts:
        parts.append(
            markup(
                '<div class="artifacts"><h5>Artifacts</h5>\n<ul>{}</ul>\n</div>\n',
                markup_join(
                    "",
                    '<li class="mono">{}</li>',
                    ((_artifact(path, artifact_base_url),) for path in failure.artifacts),
                ),
            )
        )
    parts.append("</div>\n")
    return "".join(parts)


def _searchable(value: str | None, search_url: str) -> SafeString | str:
    if value is None:
        return "null"
    return markup('<a href="{}?q={}">{}</a>', search_url, urlencode(value), value)


def _artifact(path: str, artifact_base_url: str) -> SafeString:
    link = artifact_url(path, artifact_base_url)
    if link:
        return markup('<a href="{}" rel="noopener noreferrer">{}</a>', link, path)
    return markup("{}", path)


def _evidence(table: Any, organization: str) -> SafeString:
    shown = len(table.rows)
    leak = (
        markup(
            ' <span class="leak">{} cell{} from another organization</span>',
            table.foreign_org_cells,
            pluralize(table.foreign_org_cells),
        )
        if table.foreign_org_cells
        else ""
    )
    foreign_title = markup(' title="not {}"', organization)
    return markup(
        '<div class="evidence">\n<h5>{} <span class="muted">{} row{}{}</span>{}</h5>\n'
        '<div class="scroll" tabindex="0">\n<table class="grid evidence-table">\n'
        "<thead><tr>{}</tr></thead>\n<tbody>\n{}</tbody>\n</table>\n</div>\n</div>\n",
        table.label or "Evidence",
        table.total_rows,
        pluralize(table.total_rows),
        f", first {shown} shown" if table.hidden_rows else "",
        leak,
        markup_join("", '<th class="mono">{}</th>', ((column,) for column in table.columns)),
        markup_join("", "{}", ((_evidence_row(row, foreign_title),) for row in table.rows)),
    )


def _evidence_row(row: list[Any], foreign_title: SafeString) -> SafeString:
    """An evidence row's cells (`EvidenceCell`s): nulls marked, another org's values flagged."""
    return markup(
        "<tr>{}</tr>\n",
        markup_join(
            "",
            '<td class="mono{}{}"{}>{}</td>',
            (
                (
                    " null" if cell.is_null else "",
                    " foreign-org" if cell.is_foreign_org else "",
                    foreign_title if cell.is_foreign_org else "",
                    cell.text,
                )
                for cell in row
            ),
        ),
    )
