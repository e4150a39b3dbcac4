"""Server-rendered SVG charts for the admin's conversion dashboard: no JavaScript, no library.

Pure functions of numbers and labels to markup. Every label is escaped here; colours come
from CSS classes (static/checkout/dashboard.css), so the charts follow the admin's light and
dark themes. Each chart is an ``<svg role="img">`` named by its title and pointing, in its
description, at the table beside it that carries the same numbers; each mark has a
``<title>`` (the browser shows it on hover).
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
TICKS = 4


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # class of its marks (colour), e.g. "s-completed"
    values: Sequence[float | int | Decimal]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (1 for nothing), so the
    axis ticks (quarters of it) are round numbers."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= value)


def _n(value: float) -> str:
    """An SVG coordinate: short, no exponent."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(chart_id: str, title: str, description: str, body: list[str], height: int = HEIGHT) -> SafeString:
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>{"".join(body)}</svg>'
    )


def _empty(chart_id: str, title: str, description: str) -> SafeString:
    return _svg(chart_id, title, description, [
        f'<text class="tick empty" x="{WIDTH // 2}" y="{TOP + 30}" text-anchor="middle">'
        "No sessions in this period.</text>"], height=TOP + 48)


def _y_axis(top_value: float, tick_label: Callable[[float], str]) -> list[str]:
    parts = []
    for i in range(TICKS + 1):
        value = top_value * i / TICKS
        y = TOP + PLOT_H - PLOT_H * i / TICKS
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(y)}" y2="{_n(y)}"/>')
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{_n(y + 4)}" text-anchor="end">'
                     f"{escape(tick_label(value))}</text>")
    return parts


def _x_labels(labels: Sequence[str], every: int) -> list[str]:
    step = PLOT_W / max(len(labels), 1)
    return [
        f'<text class="tick" x="{_n(LEFT + step * (i + 0.5))}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(label)}</text>"
        for i, label in enumerate(labels) if i % every == 0 or i == len(labels) - 1
    ]


def stacked_columns(chart_id: str, *, title: str, description: str, labels: Sequence[str],
                    series: Sequence[Series], tick_label: Callable[[float], str],
                    value_label: Callable[[float], str] | None = None, label_every: int = 5,
                    whole: bool = False) -> SafeString:
    """One column per label, its series stacked bottom-up (a single series: plain columns).
    ``whole``: the values are counts (the axis never shows fractions)."""
    value_label = value_label or tick_label
    totals = [sum(float(s.values[i]) for s in series) for i in range(len(labels))]
    if not any(totals):
        # Nothing to draw: say so, rather than an axis of rounded fractions ("1, 1, 0, 0, 0").
        return _empty(chart_id, title, description)
    top_value = nice_ceiling(max(totals, default=0))
    if whole:  # counts: at least one unit per tick, so every tick label is a distinct whole number
        top_value = max(top_value, TICKS)
    step = PLOT_W / max(len(labels), 1)
    width = max(step * 0.72, 1)
    body = _y_axis(top_value, tick_label)
    for i, label in enumerate(labels):
        base = 0.0
        x = LEFT + step * i + (step - width) / 2
        for s in series:
            value = float(s.values[i])
            if value <= 0:
                continue
            y_top = TOP + PLOT_H - PLOT_H * (base + value) / top_value
            height = PLOT_H * value / top_value
            body.append(f'<rect class="{s.css}" x="{_n(x)}" y="{_n(y_top)}" width="{_n(width)}" '
                        f'height="{_n(max(height, 0.5))}"><title>{escape(label)}: {escape(value_label(value))} '
                        f"{escape(s.name)}</title></rect>")
            base += value
    body.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + PLOT_H}" y2="{TOP + PLOT_H}"/>')
    body += _x_labels(labels, label_every)
    return _svg(chart_id, title, description, body)


def line(chart_id: str, *, title: str, description: str, labels: Sequence[str],
         values: Sequence[Decimal | None], css: str = "s-rate", label_every: int = 5) -> SafeString:
    """Fractions (0–1) as a line on a 0–100 % axis; None leaves a gap (nothing to measure)."""
    step = PLOT_W / max(len(labels), 1)
    body = _y_axis(1, lambda v: f"{v:.0%}")
    segments: list[list[str]] = [[]]
    points = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value is None:
            segments.append([])
            continue
        x = LEFT + step * (i + 0.5)
        y = TOP + PLOT_H - PLOT_H * float(value)
        segments[-1].append(f"{_n(x)},{_n(y)}")
        points.append(f'<circle class="{css}" cx="{_n(x)}" cy="{_n(y)}" r="3">'
                      f"<title>{escape(label)}: {float(value):.1%}</title></circle>")
    body += [f'<polyline class="{css} line" points="{" ".join(segment)}"/>' for segment in segments if segment]
    body += points
    body.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + PLOT_H}" y2="{TOP + PLOT_H}"/>')
    body += _x_labels(labels, label_every)
    return _svg(chart_id, title, description, body)


BAR_ROW, BAR_LABEL_W, BAR_LABEL_CHARS = 26, 236, 32


def overlaid_bars(chart_id: str, *, title: str, description: str, rows: Sequence[tuple[str, int, int]],
                  outer: Series, inner: Series) -> SafeString:
    """One horizontal bar per row: ``outer`` (e.g. created) with ``inner`` (completed, a part of
    it) drawn over it from the same start; the row's numbers at its end."""
    height = TOP + BAR_ROW * max(len(rows), 1) + 8
    top_value = max((total for _label, total, _part in rows), default=0) or 1  # no axis: the longest fills
    plot_w = WIDTH - BAR_LABEL_W - 120
    body = []
    for i, (label, total, part) in enumerate(rows):
        y = TOP + BAR_ROW * i
        short = label if len(label) <= BAR_LABEL_CHARS else label[:BAR_LABEL_CHARS - 1] + "…"
        body.append(f'<text class="label" x="{BAR_LABEL_W - 8}" y="{y + 15}" text-anchor="end">'
                    f"<title>{escape(label)}</title>{escape(short)}</text>")
        for value, series in ((total, outer), (part, inner)):
            if value > 0:
                body.append(f'<rect class="{series.css}" x="{BAR_LABEL_W}" y="{y + 3}" '
                            f'width="{_n(max(plot_w * value / top_value, 0.5))}" height="{BAR_ROW - 8}">'
                            f"<title>{escape(label)}: {value:,} {escape(series.name)}</title></rect>")
        rate = f" ({part / total:.1%})" if total else ""
        body.append(f'<text class="tick" x="{_n(BAR_LABEL_W + plot_w * total / top_value + 6)}" y="{y + 15}">'
                    f"{part:,} / {total:,}{rate}</text>")
    if not rows:
        body.append(f'<text class="tick" x="{BAR_LABEL_W}" y="{TOP + 15}">No sessions.</text>')
    return _svg(chart_id, title, description, body, height=height)


FUNNEL_ROW = 34


def funnel(chart_id: str, *, title: str, description: str, steps: Sequence[tuple[str, int]],
           css: str = "s-funnel") -> SafeString:
    """The funnel: one horizontal bar per step, as long as its share of the first step, with the
    count, the share of the first step and (from the second step) of the step before."""
    first = steps[0][1] if steps else 0
    if not first:
        return _empty(chart_id, title, description)
    plot_w = WIDTH - BAR_LABEL_W - 150
    body = []
    for i, (label, value) in enumerate(steps):
        y = TOP + FUNNEL_ROW * i
        width = plot_w * value / first
        previous = steps[i - 1][1] if i else None
        of_previous = f", {value / previous:.0%} of the step before" if previous else ""
        body.append(f'<text class="label" x="{BAR_LABEL_W - 8}" y="{y + 19}" text-anchor="end">{escape(label)}</text>')
        body.append(f'<rect class="{css}" x="{BAR_LABEL_W}" y="{y + 4}" width="{_n(max(width, 0.5))}" '
                    f'height="{FUNNEL_ROW - 10}"><title>{escape(label)}: {value:,} ({value / first:.0%} of '
                    f"{escape(steps[0][0].lower())}{of_previous})</title></rect>")
        body.append(f'<text class="tick" x="{_n(BAR_LABEL_W + width + 6)}" y="{y + 19}">{value:,} '
                    f"({value / first:.0%})</text>")
    return _svg(chart_id, title, description, body, height=TOP + FUNNEL_ROW * len(steps) + 4)
