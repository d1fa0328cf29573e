"""CVSS scores from vectors, with the `cvss` package, and which of a record's
metrics trustscan uses.

A score is always computed from its vector: a vector is what a record's
author chose, and a `baseScore` beside it that disagrees is a typo in one of
the two, never a reason to invent a third number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from scanner.feeds import severity_from_cvss
from scanner.model import Severity

# A CVSS v2 base vector has no `CVSS:` prefix (the v2 specification gives
# none), so it is told apart by its metrics.
_V2_VECTOR = re.compile(r"^\(?AV:[LAN]/AC:[HML]/Au:[MSN]/C:[NPC]/I:[NPC]/A:[NPC]")


@dataclass(frozen=True)
class Cvss:
    """One CVSS base score, its vector and the CVSS version ("4.0", "3.1", "3.0", "2.0")."""

    score: float
    vector: str
    version: str

    @property
    def is_v2(self) -> bool:
        return self.version == "2.0"


def parse(vector: str) -> Cvss | None:
    """The base score of a CVSS v2, v3.x or v4 vector; None if it does not parse."""
    text = vector.strip()
    try:
        if text.startswith("CVSS:4."):
            return Cvss(float(CVSS4(text).base_score), text, text[5:8])
        if text.startswith("CVSS:3."):
            return Cvss(float(CVSS3(text).base_score), text, text[5:8])
        if _V2_VECTOR.match(text):
            bare = text.strip("()")
            return Cvss(float(CVSS2(bare).base_score), bare, "2.0")
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


def base_score(vector: str) -> float | None:
    """The base score of a CVSS v2, v3.x or v4 vector; None if it does not parse."""
    parsed = parse(vector)
    return parsed.score if parsed is not None else None


# Newest first: a record scored in several versions is shown by its newest.
_PREFERENCE = ("4.0", "3.1", "3.0", "2.0")


def best(scores: Iterable[Cvss | None]) -> Cvss | None:
    """The newest-version score of those given (the first of a version wins)."""
    found: dict[str, Cvss] = {}
    for item in scores:
        if item is not None:
            found.setdefault(item.version, item)
    return next((found[v] for v in _PREFERENCE if v in found), None)


def severity(cvss: Cvss) -> Severity:
    """The qualitative rating of a score in its own version's scale.

    v3 and v4 share one scale (critical from 9.0). v2's has no "critical":
    NVD rated v2 scores of 7.0-10.0 "high", and a v2 10.0 is not the same
    claim as a v3 10.0.
    """
    if not cvss.is_v2:
        return severity_from_cvss(cvss.score)
    if cvss.score >= 7.0:
        return Severity.HIGH
    if cvss.score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW if cvss.score > 0.0 else Severity.INFO
