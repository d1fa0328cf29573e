"""Inline SVG charts of the scan history, for the trends page and the report's
history panel: findings by severity per run (stacked columns, one group a
run) and a sparkline of the findings per run.

Like `charts`, pure functions returning Markup, with presentation attributes
only (the pages' CSP forbids inline styles), every label escaped here and
the numbers said again as text in the `<desc>`. Each run's group carries
`data-run`, so that a test (or a reader's tool) can find one mark a run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from scanner.formats.charts import LINE, MUTED, TONES, clean, number, px, svg_open
from scanner.model import RunPoint, Severity

# `RunPoint.counts` order, as the model states it: critical first.
COUNT_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)
# Drawn from the bottom up: the most severe findings are the base of each column.
_STACK = COUNT_ORDER


def by_severity(point: RunPoint) -> dict[Severity, int]:
    """A run's findings by severity; the one place that reads `counts`."""
    counts = tuple(point.counts) + (0,) * (len(COUNT_ORDER) - len(point.counts))
    return {s: int(counts[i]) for i, s in enumerate(COUNT_ORDER)}


def total(point: RunPoint) -> int:
    return sum(by_severity(point).values())


def day(moment: str) -> str:
    """The date of an ISO time (`2026-11-02`), or the text as given when it is none."""
    try:
        return datetime.fromisoformat(moment).date().isoformat()
    except (TypeError, ValueError):
        return clean(moment)[:32]


def whole_days(start: str, end: str) -> int | None:
    """Whole days from one ISO time to another (never negative); None when
    either is not a time."""
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None
    return max(0, int(seconds // 86400))


def days_text(days: int) -> str:
    return f"{number(days)} day" if days == 1 else f"{number(days)} days"


def _point_text(point: RunPoint) -> str:
    counts = by_severity(point)
    parts = ", ".join(f"{number(counts[s])} {s.value}" for s in COUNT_ORDER if counts[s])
    return (
        f"run {point.run} ({day(point.finished)}): {number(total(point))} "
        f"finding{'' if total(point) == 1 else 's'}{': ' + parts if parts else ''}"
    )


def _ticks(peak: int) -> list[int]:
    """Round gridline values from 0 to at least `peak`: five at most."""
    if peak <= 0:
        return [0]
    magnitude = 10 ** max(0, math.floor(math.log10(peak / 4))) if peak >= 4 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude * 4 >= peak)
    return list(range(0, math.ceil(peak / step) * step + 1, step))


# Columns are this much apart at most and at least; the chart grows with the
# runs up to `_PLOT_WIDE`, and above `WIDE` it is too wide to shrink onto a
# phone legibly (the page lets it scroll in its own box instead).
_STEP_MAX, _STEP_MIN, _PLOT_WIDE = 80, 8, 760
WIDE = 560
_LABEL_W = 66  # room a "2026-11-02" label needs
_LEFT = 40  # room for the gridlines' numbers


def _step(runs: int) -> float:
    return max(_STEP_MIN, min(_STEP_MAX, _PLOT_WIDE / max(1, runs)))


def runs_chart_width(runs: int) -> int:
    """How wide `runs_chart` draws this many runs (the legend needs 420)."""
    return max(420, math.ceil(_LEFT + runs * _step(runs) + _LABEL_W / 2))


def runs_chart(points: Sequence[RunPoint], *, chart_id: str, title: str) -> Markup:
    """Findings by severity per run, oldest first: one stacked column a run
    (`<g data-run="N">`), labelled with its number and date where they fit."""
    if not points:
        parts = svg_open(chart_id, title, "No run is recorded.", 320, 40)
        parts.append(f'<text x="0" y="24" fill="{MUTED}">No run is recorded.</text></svg>')
        return Markup("".join(parts))  # noqa: S704 - every part above is escaped
    n = len(points)
    step = _step(n)
    bar_w = min(44.0, max(3.0, step * 0.7))
    top, plot_h = 30, 160
    left, width = _LEFT, runs_chart_width(n)
    height = top + plot_h + 40
    base = top + plot_h
    ticks = _ticks(max((total(p) for p in points), default=0))
    scale = plot_h / ticks[-1] if ticks[-1] > 0 else 0.0
    desc = "Oldest first: " + "; ".join(_point_text(p) for p in points) + "."
    parts = svg_open(chart_id, title, desc, width, height)
    # The legend: one swatch a severity, in stacking order.
    x = float(left)
    for severity in _STACK:
        parts.append(
            f'<rect x="{px(x)}" y="4" width="10" height="10" fill="{TONES[severity.value]}"/>'
            f'<text x="{px(x + 14)}" y="13" fill="{MUTED}">{severity.value}</text>'
        )
        x += 72  # room for the longest name, "critical", at 12px
    for value in ticks:
        y = base - value * scale
        dashes = "" if value == 0 else ' stroke-dasharray="2 3"'  # the axis is solid
        parts.append(
            f'<line x1="{left}" y1="{px(y)}" x2="{width}" y2="{px(y)}" stroke="{LINE}"{dashes}/>'
            f'<text x="{left - 6}" y="{px(y + 4)}" text-anchor="end" fill="{MUTED}">'
            f"{number(value)}</text>"
        )
    every = max(1, math.ceil(_LABEL_W / step))
    for i, point in enumerate(points):
        mid = left + i * step + step / 2
        parts.append(f'<g data-run="{int(point.run)}"><title>{escape(_point_text(point))}</title>')
        y = float(base)
        counts = by_severity(point)
        for severity in _STACK:
            h = counts[severity] * scale
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect x="{px(mid - bar_w / 2)}" y="{px(y)}" width="{px(bar_w)}"'
                f' height="{px(h)}" fill="{TONES[severity.value]}"/>'
            )
        if y == base:  # no finding: a hairline, so the run still shows
            parts.append(
                f'<rect x="{px(mid - bar_w / 2)}" y="{base - 1}" width="{px(bar_w)}"'
                f' height="1" fill="{MUTED}"/>'
            )
        parts.append("</g>")
        # Every few runs as room allows, counted back from the latest, which is always labelled.
        if (n - 1 - i) % every == 0:
            parts.append(
                f'<text x="{px(mid)}" y="{base + 15}" text-anchor="middle" fill="{MUTED}">'
                f"#{int(point.run)}</text>"
                f'<text x="{px(mid)}" y="{base + 30}" text-anchor="middle" fill="{MUTED}"'
                f' font-size="11">{escape(day(point.finished))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every part above is escaped


def sparkline(points: Sequence[RunPoint], *, chart_id: str, title: str) -> Markup:
    """The findings per run as a small line, oldest first, one dot a run
    (`<circle data-run="N">`), this run's dot the larger."""
    width, height, pad = 168, 36, 4
    desc = "Oldest first: " + "; ".join(_point_text(p) for p in points) + "."
    parts = svg_open(chart_id, title, desc if points else "No run is recorded.", width, height)
    if points:
        peak = max(total(p) for p in points)
        n = len(points)
        gap = (width - 2 * pad) / (n - 1) if n > 1 else 0.0

        def at(i: int, point: RunPoint) -> tuple[float, float]:
            x = pad + i * gap if n > 1 else width / 2
            y = height - pad - (total(point) / peak * (height - 2 * pad) if peak else 0.0)
            return x, y

        spots = [at(i, p) for i, p in enumerate(points)]
        parts.append(
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"'
            f' stroke="{LINE}"/>'
        )
        if n > 1:
            line = " ".join(f"{px(x)},{px(y)}" for x, y in spots)
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{TONES["bar"]}"'
                ' stroke-width="1.5" stroke-linejoin="round"/>'
            )
        for i, (point, (x, y)) in enumerate(zip(points, spots, strict=True)):
            last = i == n - 1
            parts.append(
                f'<circle data-run="{int(point.run)}" cx="{px(x)}" cy="{px(y)}"'
                f' r="{3 if last else 1.6}" fill="{TONES["high"] if last else TONES["bar"]}">'
                f"<title>{escape(_point_text(point))}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every part above is escaped
