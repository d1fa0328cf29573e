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
    label = clean(label).replace("\n", " ")
    return label if len(label) <= _MAX_LABEL else label[: _MAX_LABEL - 1] + "\u2026"


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
    """Horizontal bars, one a row (risk per host); `scale_max` fixes the scale (100)."""
    if not bars:
        return _empty(chart_id, title, empty)
    label_w, plot_w, value_w, row_h, bar_h = 230, 320, 56, 22, 14
    width, height = label_w + plot_w + value_w, row_h * len(bars) + 6
    peak = max(scale_max or 0.0, *(b.value for b in bars))
    parts = svg_open(chart_id, title, _description(bars, unit, digits), width, height)
    for i, bar in enumerate(bars):
        w = bar.value / peak * plot_w if peak > 0 and bar.value > 0 else 0.0
        y = 3 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 12}" text-anchor="end"'
            f' fill="{_INK}">{escape(_short(bar.label))}</text>'
            f'<rect x="{label_w}" y="{y + 1}" width="{plot_w}" height="{bar_h}" fill="#f3f4f6"/>'
            f'<rect x="{label_w}" y="{y + 1}" width="{px(w)}" height="{bar_h}"'
            f' fill="{_fill(bar.tone)}"/>'
            f'<text x="{px(label_w + plot_w + 6)}" y="{y + 12}"'
            f' fill="{_INK}">{escape(number(bar.value, digits))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every part above is escaped
