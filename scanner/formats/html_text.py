"""Small text helpers for the HTML report, also its Jinja filters and globals:
numbers, scores, sums of money, durations, links and `[placeholder]` marks.

A risk score is printed with its risk level (`score_text`): one scale, the
thresholds of `scanner.assessment.risk.RISK_LEVELS`, for hosts and findings
alike, drawn as a rounded mark in the risk colours (`.risk-*` in report.css),
which are not the severity badges' colours: severity says how bad a weakness
is anywhere; risk says what it means here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from scanner.assessment.risk import risk_level
from scanner.formats.charts import clean, number


def num(value: int | float | None) -> str:
    return "unknown" if value is None else number(value)


def score_text(value: float | None) -> Markup | str:
    """A risk score marked with its level: `<span class="risk risk-high">22.0</span>`."""
    if value is None:
        return "\u2013"
    level = risk_level(value).name
    return Markup('<span class="risk risk-%s" title="risk level: %s">%s</span>') % (
        level,
        level,
        f"{value:.1f}",
    )


_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,120}\]")


def placeholders(text: str) -> Markup:
    """Escaped text with each `[placeholder]` marked, so a draft shows what to fill in."""
    text = clean(text)
    parts: list[Markup] = []
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<mark class="ph">%s</mark>') % match.group())
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


_CURRENCY = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}


def money(value: float, currency: str, digits: int = 0) -> str:
    symbol = _CURRENCY.get(currency.upper())
    amount = f"{value:,.{digits}f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def money_about(value: float, currency: str) -> str:
    """`about $20.8 million`: how a person says a large sum."""
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if value >= size:
            symbol = _CURRENCY.get(currency.upper())
            figure = f"{value / size:,.1f}".removesuffix(".0")
            if symbol:
                return f"about {symbol}{figure} {word}"
            return f"about {figure} {word} {currency}"
    return money(value, currency)


@dataclass(frozen=True)
class Link:
    """A reference: `href` only for http(s) URLs, anything else is shown as text."""

    text: str
    href: str | None


def link(url: str) -> Link:
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    return Link(url, url if scheme in ("http", "https") and url.isprintable() else None)


def duration(started: str, finished: str) -> str:
    try:
        seconds = int(
            (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
        )
    except (TypeError, ValueError):
        return ""
    if seconds < 0:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
