"""Server-rendered SVG charts (pygal) whose points link to the runs behind them.

pygal builds the SVG with an XML serializer, so labels from reports arrive escaped; its
tooltip script is left out (it would load from a CDN) and every chart has a table beside it.
"""

from dataclasses import dataclass

import pygal
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

INK = "#1d2430"
CHART_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground=INK,
    foreground_strong=INK,
    foreground_subtle="#d9dee6",
    opacity="1",
    opacity_hover="1",
    colors=("#1f5fbf", "#b3261e", "#5d6878"),
    font_family="system-ui, 'DejaVu Sans', sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    value_font_size=10,
    tooltip_font_size=11,
)
OVER_STYLE = "fill: #b3261e; stroke: #b3261e"


@dataclass(frozen=True)
class ChartPoint:
    label: str
    value: float | None
    href: str = ""
    over: bool = False


def _base(
    config_class: type, *, height: int, width: int, **options: object
) -> pygal.graph.graph.Graph:
    return config_class(
        js=[],
        style=CHART_STYLE,
        width=width,
        height=height,
        show_minor_y_labels=False,
        y_labels_major_count=5,
        disable_xml_declaration=True,
        explicit_size=False,
        show_legend=False,
        truncate_label=-1,
        x_label_rotation=0,
        margin=8,
        spacing=6,
        dots_size=3,
        print_values=False,
        **options,
    )


def _x_labels(points: list[ChartPoint]) -> list[str]:
    # About six dated ticks whatever the number of points, so several runs a day do not pile up.
    every = max(1, len(points) // 6)
    return [point.label if index % every == 0 else "" for index, point in enumerate(points)]


def _values(points: list[ChartPoint]) -> list[dict[str, object] | None]:
    values: list[dict[str, object] | None] = []
    for point in points:
        if point.value is None:
            values.append(None)
            continue
        value: dict[str, object] = {"value": point.value, "label": point.label}
        if point.href:
            value["xlink"] = {"href": point.href, "target": "_top"}
        if point.over:
            value["style"] = OVER_STYLE
        values.append(value)
    return values


def _render(chart: pygal.graph.graph.Graph) -> SafeString:
    return mark_safe(chart.render(is_unicode=True))  # noqa: S308 - pygal escapes via its XML serializer


def pass_rate_chart(points: list[ChartPoint], title: str, width: int = 720) -> SafeString:
    """Daily pass rate in percent, 0 to 100."""
    chart = _base(
        pygal.Line, height=190, width=width, range=(0, 100),
        y_labels=[0, 50, 90, 100],
    )  # fmt: skip
    chart.title = title
    chart.x_labels = _x_labels(points)
    chart.add("pass rate %", _values(points), allow_interruptions=True)
    return _render(chart)


def duration_chart(
    points: list[ChartPoint], title: str, budget: float | None, width: int = 720
) -> SafeString:
    """A value per run (minutes, seconds), the marked ones in red, with the budget as a line."""
    highest = max([p.value or 0 for p in points] + [budget or 0, 1])
    chart = _base(
        pygal.Line, height=190, width=width, range=(0, highest * 1.1),
        stroke=False,
    )  # fmt: skip
    chart.title = title
    chart.x_labels = _x_labels(points)
    chart.add("value", _values(points))
    if budget:
        chart.add(
            f"budget {budget}",
            [budget] * len(points),
            stroke=True,
            show_dots=False,
            stroke_style={"width": 1.5, "dasharray": "6, 4"},
        )
    return _render(chart)
