"""The exit verdict: whether a scan's findings trip `--fail-on`."""

from __future__ import annotations

from enum import Enum

from scanner.model import ScanResult, Severity


class FailOn(str, Enum):
    """The severity at which a scan exits 1; `never` keeps CI green."""

    NEVER = "never"
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


def exceeds(result: ScanResult, fail_on: FailOn) -> bool:
    """Filtering and failing are separate: reports always show everything."""
    if fail_on is FailOn.NEVER:
        return False
    threshold = Severity(fail_on.value).rank
    return any(f.severity.rank >= threshold for f in result.findings)


def fail_threshold(fail_on: FailOn) -> Severity | None:
    """The severity at which a finding fails; None for `never`, where JUnit
    still fails every finding (the exit code is what `never` keeps green)."""
    return None if fail_on is FailOn.NEVER else Severity(fail_on.value)
