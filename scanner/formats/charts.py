"""Inline SVG charts for the HTML report: pure functions returning Markup.

The report's Content-Security-Policy forbids inline `style` attributes and
scripts, so a chart is plain SVG with presentation attributes (`fill`,
`font-size`). Every label is escaped and every number formatted here, so a
chart can go into the autoescaped template as it is. Each chart is
`role="img"` with a `<title>` and a `<desc>` that carries the numbers as
text; the report shows them in a table as well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# The report's severity colours (reports/report.css); "bar" for anything else.
TONES = {
    "critical": "#7f1d1d",
    "high": "#b91c1c",
    "medium": "#b45309",
    "low": "#1d4ed8",
    "info": "#4b5563",
    "bar": "#374151",
    # The risk scale (host and finding risk levels), violet, apart from the
    # severity colours above: a score is not a severity.
    # The same four as the style sheet's --risk-* colours.
    "risk-critical": "#3b0764",
    "risk-high": "#6b21a8",
    "risk-medium": "#7e22ce",
    "risk-low": "#9333ea",
}
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_INK = "#111827"
MUTED = "#6b7280"
LINE = "#d1d5db"
_MAX_LABEL = 34

# C0 controls but tab and line feed, DEL, C1 controls, and the bidi
# overrides that can make text read differently from what it is.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """Text from a target made printable: control characters as `\\xNN` (or `\\uNNNN`)."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(_visible, text)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def number(value: float, digits: int | None = None) -> str:
    """1,234 for whole numbers, 12.3 otherwise; `digits` fixes the decimals."""
    if digits is not None:
        return f"{value:,.{digits}f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tone: str = "bar"  # a key of TONES; anything else is drawn as "bar"
    note: str = ""  # said after the value in the description (a system name)


def _short(label: str) -> str:
    return label_lines(label, count=1)[0]


def _fill(tone: str) -> str:
    return TONES.get(tone, TONES["bar"])


def px(value: float) -> str:
    """A coordinate as SVG needs it: at most two decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _description(bars: Sequence[Bar], unit: str, digits: int | None) -> str:
    parts = []
    for bar in bars:
        note = f" ({clean(bar.note)})" if bar.note else ""
        parts.append(f"{clean(bar.label)}{note}: {number(bar.value, digits)}{unit}")
    return "; ".join(parts) + "."


def svg_open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    """A chart's opening: the accessible `<svg>`, its `<title>` and its `<desc>`."""
    ident = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"'
        f' width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' aria-labelledby="{ident}-t {ident}-d" font-family="{escape(_FONT)}" font-size="12">',
        f'<title id="{ident}-t">{escape(clean(title))}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
    ]


def _empty(chart_id: str, title: str, message: str) -> Markup:
    parts = svg_open(chart_id, title, message, 320, 40)
    parts.append(f'<text x="0" y="24" fill="{MUTED}">{escape(clean(message))}</text></svg>')
    return Markup("".join(parts))  # noqa: S704 - every part above is escaped


def column_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    unit: str = "",
    digits: int | None = None,
    empty: str = "No data.",
) -> Markup:
    """Vertical bars, one a label (the severity distribution)."""
    if not bars:
        return _empty(chart_id, title, empty)
    step, bar_w, plot_h, top, bottom = 64, 40, 120, 20, 22
    width, height = step * len(bars) + 8, top + plot_h + bottom
    peak = max((b.value for b in bars), default=0.0)
    parts = svg_open(chart_id, title, _description(bars, unit, digits), width, height)
    base = top + plot_h
    parts.append(f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="{LINE}"/>')
    for i, bar in enumerate(bars):
        h = bar.value / peak * plot_h if peak > 0 and bar.value > 0 else 0.0
        x = 8 + i * step
        mid = x + bar_w / 2
        parts.append(
            f'<rect x="{x}" y="{px(base - h)}" width="{bar_w}" height="{px(h)}"'
            f' fill="{_fill(bar.tone)}"/>'
            f'<text x="{px(mid)}" y="{px(base - h - 5)}" text-anchor="middle"'
            f' fill="{_INK}">{escape(number(bar.value, digits))}</text>'
            f'<text x="{px(mid)}" y="{base + 16}" text-anchor="middle"'
            f' fill="{MUTED}">{escape(_short(bar.label))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every part above is escaped


def label_lines(label: str, limit: int = _MAX_LABEL, count: int = 2) -> list[str]:
    """A label as drawn: words wrapped onto at most `count` lines of `limit`
    characters; what does not fit ends in an ellipsis (the whole label is in
    the chart's `<desc>`, each row's `<title>` and the report's tables)."""
    words = clean(label).replace("\n", " ").split()
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    cut = len(lines) > count or any(len(line) > limit for line in lines[:count])
    lines = lines[:count]
    for i, line in enumerate(lines):
        if len(line) > limit:  # a word longer than a line: the label ends here
            lines = [*lines[:i], line[: limit - 1] + "\u2026"]
            break
    else:
        if cut:
            lines[-1] = lines[-1][: limit - 1] + "\u2026"
    return lines or [""]


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    scale_max: float | None = None,
    unit: str = "",
    digits: int | None = None,
    empty: str = "No data.",
) -> Markup:
    """Horizontal bars, one a row (risk per host); `scale_max` fixes the scale (100).

    Each row is its label (wrapped onto two lines at most) with the value at its
    right, over a bar the chart's full width. The chart is 320 units wide at
    12 px text, so it fits a 360 px phone without being scaled down: the
    labels stay readable on every screen and on paper."""
    if not bars:
        return _empty(chart_id, title, empty)
    plot_w, line_h, bar_h, gap = 320, 15, 10, 9
    rows = [label_lines(bar.label) for bar in bars]
    height = sum(len(lines) * line_h + 3 + bar_h + gap for lines in rows) + 2
    peak = max(scale_max or 0.0, *(b.value for b in bars))
    parts = svg_open(chart_id, title, _description(bars, unit, digits), plot_w, height)
    y = 2
    for bar, lines in zip(bars, rows, strict=True):
        w = bar.value / peak * plot_w if peak > 0 and bar.value > 0 else 0.0
        value = escape(number(bar.value, digits))
        note = f" ({clean(bar.note)})" if bar.note else ""
        parts.append(f"<g><title>{escape(clean(bar.label) + note)}: {value}{escape(unit)}</title>")
        parts.extend(
            f'<text x="0" y="{y + 11 + i * line_h}" fill="{_INK}">{escape(line)}</text>'
            for i, line in enumerate(lines)
        )
        top = y + len(lines) * line_h + 3
        parts.append(
            f'<text x="{plot_w}" y="{y + 11}" text-anchor="end" font-weight="600"'
            f' fill="{_INK}">{value}</text>'
            f'<rect x="0" y="{top}" width="{plot_w}" height="{bar_h}" fill="#f3f4f6"/>'
            f'<rect x="0" y="{top}" width="{px(w)}" height="{bar_h}" fill="{_fill(bar.tone)}"/>'
            "</g>"
        )
        y = top + bar_h + gap
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every part above is escaped
