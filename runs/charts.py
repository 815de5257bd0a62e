"""Charts as server-rendered SVG: coordinates are computed here, `runs/_chart.html` draws them.

Every point is a link to the run (or runs) behind it, with a native tooltip, and every chart
has a table of the same numbers beside it. No script is needed to read them.
"""

from dataclasses import dataclass
from functools import cached_property

from django.utils.safestring import SafeString, mark_safe

from runs.markup import escaped, markup

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 40, 22, 10, 26
X_TICKS = 6
_Y_TICK = (
    '<line class="grid-line" x1="{}" x2="{}" y1="{}" y2="{}"/>'
    '<text class="tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>'
)
_X_TICK = '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>'
_LEVEL = '<line class="{}" x1="{{}}" x2="{{}}" y1="{{}}" y2="{{}}"/>'


@dataclass(frozen=True)
class ChartPoint:
    label: str
    value: float | None
    href: str = ""
    note: str = ""
    over: bool = False


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    href: str
    tooltip: str
    over: bool


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    dots: list[Dot]
    lines: list[str]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    budget: Tick | None

    @cached_property
    def axes_markup(self) -> SafeString:
        """Grid, ticks, axis, budget line and the lines through the points, as SVG: numbers
        of ours but for the tick labels, escaped all the same."""
        left, right = self.left, self.right
        parts = [
            markup(_Y_TICK, left, right, t.at, t.at, left - 4, t.at, t.label) for t in self.y_ticks
        ]
        parts += [markup(_X_TICK, t.at, self.height - 8, t.label) for t in self.x_ticks]
        parts.append(markup(_LEVEL.format("axis"), left, right, self.bottom, self.bottom))
        if self.budget:
            parts.append(
                markup(_LEVEL.format("budget"), left, right, self.budget.at, self.budget.at)
            )
        parts += [markup('<polyline class="series" points="{}"/>', line) for line in self.lines]
        return mark_safe("\n".join(parts))  # noqa: S308 - each part escaped by markup

    @cached_property
    def dots_markup(self) -> SafeString:
        """The dots as SVG, escaped here: a page of charts has hundreds of them, and drawing
        each through the template language cost more than the rest of the page."""
        return mark_safe("\n".join(map(_dot_markup, self.dots)))  # noqa: S308 - escaped above


def _dot_markup(dot: Dot) -> str:
    # Coordinates are numbers of ours; the tooltip and the link, escaped once each.
    tooltip = escaped(dot.tooltip)
    circle = (
        f'<circle class="dot{" over" if dot.over else ""}" cx="{dot.x}" cy="{dot.y}" '
        f'r="{4 if dot.over else 3}"><title>{tooltip}</title></circle>'
    )
    if not dot.href:
        return circle
    return f'<a href="{escaped(dot.href)}" aria-label="{tooltip}">{circle}</a>'


def _zoomed_floor(values: list[float], highest: float) -> float:
    """A round floor a little under the lowest value, or 0 when the values reach down there."""
    if not values:
        return 0.0
    floor = min((min(values) - (highest - min(values)) * 0.2) // 10 * 10, highest - 10)
    return floor if floor >= 20 else 0.0


def _nice_step(highest: float) -> float:
    for step in (1, 2, 5, 10, 15, 20, 25, 50, 100, 200, 500, 1000, 5000):
        if highest / step <= 5:
            return step
    return highest / 5


def line_chart(
    points: list[ChartPoint],
    *,
    title: str,
    unit: str,
    y_max: float | None = None,
    connect: bool = True,
    budget: float | None = None,
    width: int = WIDTH,
    zoom: bool = False,
) -> Chart:
    """A chart of one value per point; gaps (None) break the line, `over` points are marked.

    With `zoom`, the value axis starts near the lowest value instead of at 0 (a pass rate
    between 96 and 100 % reads as a line otherwise), and the title says the range."""
    right, bottom = width - RIGHT, HEIGHT - BOTTOM
    values = [p.value for p in points if p.value is not None]
    highest = y_max or max([*values, budget or 0, 1]) * 1.1
    lowest = _zoomed_floor(values, highest) if zoom else 0.0
    if lowest:
        title = f"{title} (axis {lowest:g} to {highest:g} {unit})"
    step_x = (right - LEFT) / max(1, len(points) - 1)

    def y_of(value: float) -> float:
        share = (min(value, highest) - lowest) / (highest - lowest)
        return round(bottom - (bottom - TOP) * max(share, 0.0), 1)

    dots, lines, current = [], [], []
    for index, point in enumerate(points):
        if point.value is None:
            if len(current) > 1:
                lines.append(" ".join(current))
            current = []
            continue
        x = round(LEFT + index * step_x if len(points) > 1 else (LEFT + right) / 2, 1)
        y = y_of(point.value)
        current.append(f"{x},{y}")
        note = f" · {point.note}" if point.note else ""
        dots.append(
            Dot(x, y, point.href, f"{point.label}: {point.value:g} {unit}{note}", point.over)
        )
    if len(current) > 1:
        lines.append(" ".join(current))
    every = max(1, len(points) // X_TICKS)
    x_ticks = [
        Tick(round(LEFT + index * step_x, 1), point.label)
        for index, point in enumerate(points)
        if index % every == 0
    ]
    step_y = _nice_step(highest - lowest)
    y_ticks = []
    value = lowest
    while value <= highest:
        y_ticks.append(Tick(y_of(value), f"{value:g}"))
        value += step_y
    return Chart(
        title=title,
        width=width,
        height=HEIGHT,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        dots=dots,
        lines=lines if connect else [],
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        budget=Tick(y_of(budget), f"budget {budget:g} {unit}") if budget else None,
    )
