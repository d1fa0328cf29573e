"""What the distribution feed parsers share: the claim each statement
becomes (`Filed`), the release names, and errors that name the file and line.

The parsers (`debian_tracker`, `ubuntu_notices`, `debian_changelog`) turn one
file each into `FeedRecords`; `advisory_data` gathers them into the data
files the rule engine reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from scanner.rule_engine.advisories import Claim, line_of_string
from scanner.support.errors import InputError

DEBIAN_CODENAMES = {
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
UBUNTU_CODENAMES = {
    "trusty": "14.04",
    "xenial": "16.04",
    "bionic": "18.04",
    "focal": "20.04",
    "jammy": "22.04",
    "mantic": "23.10",
    "noble": "24.04",
    "oracular": "24.10",
    "plucky": "25.04",
    "questing": "25.10",
    "resolute": "26.04",
}
MAX_TEXT = 300  # a note or a source's name: the words of a feed, bounded


@dataclass(frozen=True)
class Filed:
    """One claim and where it belongs: distribution, source package, CVE."""

    distro: str
    package: str
    cve: str
    claim: Claim


@dataclass(frozen=True)
class FeedRecords:
    """What one feed file holds: its claims, what kind of record it is, its date."""

    kind: str  # "DSA", "USN", "package changelog" ...: counted in the coverage text
    claims: tuple[Filed, ...]
    date: str = ""


def fail(path: Path, text: str, near: str, problem: str) -> InputError:
    """An InputError naming the file and the line of `near` (a string in it)."""
    line = line_of_string(text, near) if near else 1
    return InputError(f"{path}:{line}: {problem}")


def bounded(value: object, limit: int = MAX_TEXT) -> str:
    """A feed's words as one line of bounded text."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def release_of_codename(name: str) -> tuple[str, str] | None:
    """(distribution, release) of a suite name: `bookworm-security` is Debian 12."""
    base = re.sub(r"-(security|updates|proposed-updates|proposed)$", "", name.strip())
    if base in DEBIAN_CODENAMES:
        return "Debian", DEBIAN_CODENAMES[base]
    if base in UBUNTU_CODENAMES:
        return "Ubuntu", UBUNTU_CODENAMES[base]
    return None
