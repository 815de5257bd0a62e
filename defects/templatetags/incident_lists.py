"""The scenarios an incident covers in a run, listed in its card: an outage fails hundreds at
once, and a list item drawn through the template language, with a `{% url %}` each, cost the
run page more than the rest of its triage. Every value is escaped (`runs.markup`)."""

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString

from defects.selectors import IncidentResult
from runs.links import scenario_urls
from runs.markup import markup, markup_join

register = template.Library()


@register.simple_tag
def incident_result_items(results: Iterable[IncidentResult], slug: str) -> SafeString:
    """A list item per result: the scenario's link, its variant, status and any later attempt."""
    scenario_url = scenario_urls(slug)
    return markup_join(
        "\n",
        '<li><a class="mono" href="{}">{}</a> {}<span class="status status-{}">{}</span>{}</li>',
        (
            (
                scenario_url(result.scenario_key),
                result.scenario_key,
                markup('<span class="variant">{}</span> ', result.variant)
                if result.variant
                else "",
                result.status,
                result.status,
                markup(' <span class="muted">attempt {}</span>', result.attempt)
                if result.attempt > 1
                else "",
            )
            for result in results
        ),
    )
