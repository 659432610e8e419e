"""Charts as inline SVG: the dashboard's pages and the HTML report draw the same pictures.

Pure text, no scripts and no ``style`` attributes (the dashboard's Content-Security-Policy
allows neither inline scripts nor inline styles): colours are SVG presentation attributes.
Every chart carries a ``<title>`` and ``<desc>`` and is followed in the page by the numbers
it draws, so it is never the only way to read them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

# Colours with at least 3:1 contrast against white (WCAG 1.4.11, graphical objects).
LEVEL_COLOURS = {
    "CRITICAL": "#a4161a",
    "HIGH": "#c2410c",
    "MEDIUM": "#8a6100",
    "LOW": "#2b6cb0",
    "INFO": "#4a5568",
}
SERIES_COLOURS = ("#1d4ed8", "#b91c1c", "#047857", "#7c3aed", "#9a3412")
_TEXT = "#1a202c"
_GRID = "#cbd5e0"


@dataclass(frozen=True)
class Series:
    """A named line: points (x, y), x ascending."""

    name: str
    points: Sequence[tuple[float, float]]


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _open(width: int, height: int, title: str, desc: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{_e(title)}</title><desc>{_e(desc)}</desc>"
    )


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    colours: Sequence[str] | None = None,
    width: int = 480,
) -> str:
    """Horizontal bars, one per (label, value), each labelled with its value."""
    row, left, right = 26, 190, 50
    height = max(1, len(items)) * row + 10
    top = max((value for _, value in items), default=0.0) or 1.0
    span = width - left - right
    desc = "; ".join(f"{label}: {_number(value)}" for label, value in items)
    parts = [_open(width, height, title, desc or "no data")]
    for index, (label, value) in enumerate(items):
        y = 5 + index * row
        length = span * value / top
        colour = colours[index % len(colours)] if colours else SERIES_COLOURS[0]
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" fill="{_TEXT}">{_e(label)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{colour}"/>'
            f'<text x="{left + length + 6:.1f}" y="{y + 16}" fill="{_TEXT}">{_number(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_max: float | None = None,
    width: int = 560,
    height: int = 260,
) -> str:
    """Lines over shared axes, with a legend; an empty chart says so."""
    left, right, top, bottom = 52, 16, 16, 58
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    if not xs:
        return _open(width, 60, title, "no data") + (
            f'<text x="10" y="35" fill="{_TEXT}">No data yet.</text></svg>'
        )
    x0, x1 = min(xs), max(xs)
    whole = all(float(x).is_integer() for x in xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y1 = y_max if y_max is not None else (max(ys) or 1.0)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + plot_w * (x - x0) / (x1 - x0)

    def py(y: float) -> float:
        return top + plot_h * (1 - min(max(y, 0.0), y1) / y1)

    desc = " | ".join(
        f"{s.name}: " + ", ".join(f"({_number(x)}, {_number(y)})" for x, y in s.points)
        for s in series
    )
    parts = [
        _open(width, height, title, desc),
        _axes(left, top, plot_w, plot_h, y1, x0, x1, whole=whole),
    ]
    for index, s in enumerate(series):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s.points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
        )
        parts.extend(
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>'
            for x, y in s.points
        )
        legend_x = left + index * 130
        parts.append(
            f'<rect x="{legend_x}" y="{height - 18}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="{height - 8}" fill="{_TEXT}">{_e(s.name)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 26}" text-anchor="middle" '
        f'fill="{_TEXT}">{_e(x_label)}</text>'
        f'<text x="12" y="{top + plot_h / 2:.0f}" text-anchor="middle" fill="{_TEXT}" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.0f})">{_e(y_label)}</text></svg>'
    )
    return "".join(parts)


def _axes(
    left: int, top: int, w: int, h: int, y1: float, x0: float, x1: float, *, whole: bool
) -> str:
    parts = []
    for step in range(5):
        value = y1 * step / 4
        y = top + h * (1 - step / 4)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="{_GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_TEXT}">'
            f"{_number(value)}</text>"
        )
    for value in _ticks(x0, x1, whole=whole):
        x = left + w * (value - x0) / (x1 - x0)
        parts.append(
            f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="middle" fill="{_TEXT}">'
            f"{_number(value)}</text>"
        )
    return "".join(parts)


@dataclass(frozen=True)
class Milestone:
    """A phase of a migration plan on the timeline."""

    label: str
    deadline: date | None
    level: str


def timeline(milestones: Sequence[Milestone], *, title: str, today: date) -> str:
    """Phases as bars from today to their deadline; one without a deadline has no bar end."""
    row, left, right = 30, 320, 90
    width = 760
    height = max(1, len(milestones)) * row + 34
    ends = [m.deadline for m in milestones if m.deadline is not None]
    last = max([today, *ends])
    span_days = max(1, (last - today).days)
    span = width - left - right
    desc = "; ".join(f"{m.label}: by {m.deadline or 'no deadline'}" for m in milestones)
    parts = [_open(width, height, title, desc or "no phases")]
    for index, m in enumerate(milestones):
        y = 5 + index * row
        days = (m.deadline - today).days if m.deadline else span_days
        length = max(4.0, span * max(0, days) / span_days)
        colour = LEVEL_COLOURS.get(m.level, SERIES_COLOURS[0])
        end = m.deadline.isoformat() if m.deadline else "no deadline"
        parts.append(
            f'<text x="{left - 8}" y="{y + 18}" text-anchor="end" fill="{_TEXT}">'
            f"{_e(m.label)}</text>"
            f'<rect x="{left}" y="{y + 5}" width="{length:.1f}" height="{row - 10}" '
            f'fill="{colour}"/>'
            f'<text x="{left + length + 6:.1f}" y="{y + 18}" fill="{_TEXT}">{end}</text>'
        )
    axis_y = height - 10
    parts.append(
        f'<text x="{left}" y="{axis_y}" fill="{_TEXT}">today ({today.isoformat()})</text>'
        f'<text x="{left + span}" y="{axis_y}" text-anchor="end" fill="{_TEXT}">'
        f"{last.isoformat()}</text></svg>"
    )
    return "".join(parts)


def _ticks(low: float, high: float, most: int = 6, *, whole: bool = False) -> list[float]:
    """Round tick values from ``low`` to ``high``: steps of 1, 2 or 5 times a power of ten,
    at most ``most`` of them (years and run numbers get whole ticks: 2030, 2040, 2050)."""
    span = high - low
    step = 10.0 ** math.floor(math.log10(span / most)) if span > 0 else 1.0
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= most:
            step *= factor
            break
    if whole:  # run numbers and years: no tick between two of them
        step = max(step, 1.0)
    first = math.ceil(low / step - 1e-9) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    return [round(first + i * step, 10) for i in range(count)]


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
