"""Vulnerability feeds turned into rule files: `trustscan rules import`.

A feed parser reads one file into `Advisory` records; `rule_writer` turns
them into YAML rules in trustscan's words. Rules are data: the built-in CVE
rules are generated this way, never written by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.model import Severity


@dataclass(frozen=True)
class Advisory:
    """One vulnerability of one product, as a feed states it."""

    id: str
    product: str
    specifiers: tuple[str, ...]  # any-of PEP 440 specifier sets
    severity: Severity
    source: str  # who rated it, e.g. "the Apache httpd security team"
    aliases: tuple[str, ...] = ()
    cvss_score: float | None = None
    cvss_vector: str = ""
    vendor_severity: str = ""
    fixed_in: tuple[str, ...] = ()
    published: str = ""
    weakness: str = ""  # a CWE name, when the feed gives one
    references: tuple[str, ...] = ()


def severity_from_cvss(score: float) -> Severity:
    """CVSS v3/v4 qualitative rating scale."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.INFO


_VENDOR_WORDS = {
    "critical": Severity.CRITICAL,
    "important": Severity.HIGH,
    "high": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
}


def severity_from_word(word: str) -> Severity | None:
    return _VENDOR_WORDS.get(word.strip().lower())


def iso_date(text: str) -> str:
    """The YYYY-MM-DD day a feed's timestamp starts with, or "" if it has none."""
    day = text.strip()[:10]
    return day if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else ""
