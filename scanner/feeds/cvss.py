"""Base scores from CVSS vectors, with the `cvss` package."""

from __future__ import annotations

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError


def base_score(vector: str) -> float | None:
    """The base score of a CVSS v2, v3.x or v4 vector; None if it does not parse."""
    text = vector.strip()
    try:
        if text.startswith("CVSS:4."):
            return float(CVSS4(text).base_score)
        if text.startswith("CVSS:3."):
            return float(CVSS3(text).base_score)
        return float(CVSS2(text).base_score)
    except (CVSSError, ValueError, KeyError):
        return None
