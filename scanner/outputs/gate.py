"""The exit verdict: whether a finished result passes, trips the gate or is
incomplete (the codes and their order are `scanner.support.exit_codes`').

Two gates, either of which trips:

- `--fail-on SEVERITY`: any finding at or above it.
- `--fail-on-new SEVERITY`: any finding at or above it that is new or
  changed against the baseline (`Finding.baseline`). Without a baseline
  (`ScanResult.baseline` is None) every finding counts as new: the first run
  of a pipeline has nothing to compare with, and a forgotten `--baseline`
  must not let everything through. A result compared with a baseline whose
  finding carries no state is counted as new too, for the same reason.

A finding accepted as a risk (`Finding.accepted`, not expired) trips
neither; an expired acceptance no longer counts, so its finding trips as any
other. Filtering and failing are separate: reports always show everything.

The result is incomplete when it holds any `ProbeError`: each records a part
of the scan that did not happen (see `scanner.outputs.coverage`).
`--allow-incomplete` turns that exit 4 into a pass; it never hides a tripped
gate, which wins over an incomplete scan (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from scanner.model import BaselineState, Finding, ProbeError, ScanResult, Severity
from scanner.support.exit_codes import ExitCode


class FailOn(str, Enum):
    """The severity at which a scan exits 1; `never` keeps CI green."""

    NEVER = "never"
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def threshold(self) -> Severity | None:
        return None if self is FailOn.NEVER else Severity(self.value)


# Changed counts with new: a finding that got worse (severity, confidence,
# CVEs) since the baseline is news to whoever accepted the baseline.
_NEWS = (BaselineState.NEW, BaselineState.CHANGED)


def accepted(finding: Finding) -> bool:
    """Whether the finding is an accepted risk that still counts (not expired)."""
    return finding.accepted is not None and not finding.accepted.expired


def is_new(finding: Finding, compared: bool) -> bool:
    """New or changed against the baseline; every finding when there is none."""
    return not compared or finding.baseline is None or finding.baseline in _NEWS


def _reaches(finding: Finding, fail_on: FailOn) -> bool:
    threshold = fail_on.threshold
    return threshold is not None and finding.severity.rank >= threshold.rank


@dataclass(frozen=True)
class Gate:
    """What fails a run: `--fail-on`, `--fail-on-new`, `--allow-incomplete`."""

    fail_on: FailOn = FailOn.NEVER
    fail_on_new: FailOn = FailOn.NEVER
    allow_incomplete: bool = False

    def trips(self, finding: Finding, compared: bool) -> bool:
        """Whether this one finding trips the gate; `compared`: the result has a baseline."""
        if accepted(finding):
            return False
        if _reaches(finding, self.fail_on):
            return True
        return _reaches(finding, self.fail_on_new) and is_new(finding, compared)

    def judge(self, result: ScanResult) -> Callable[[Finding], bool]:
        """`trips` for the findings of `result` (what JUnit fails a case by)."""
        compared = result.baseline is not None
        return lambda finding: self.trips(finding, compared)

    def explain(self) -> str:
        """The options that make the gate, as the user gave them."""
        parts = []
        if self.fail_on is not FailOn.NEVER:
            parts.append(f"--fail-on {self.fail_on.value}")
        if self.fail_on_new is not FailOn.NEVER:
            parts.append(f"--fail-on-new {self.fail_on_new.value}")
        return " or ".join(parts) or "no gate"


@dataclass(frozen=True)
class Verdict:
    """The exit code of a finished run and what decided it."""

    code: ExitCode
    tripped: tuple[Finding, ...]
    gaps: tuple[ProbeError, ...]
    gate: Gate
    # Parts of the run outside the result that did not happen: the run could
    # not be recorded in the history.
    missing: tuple[str, ...] = ()

    def line(self) -> str:
        """One line saying why the run did not pass; "" when it passed."""
        if self.code is ExitCode.GATE:
            also = " (the scan is also incomplete: see above)" if self.gaps or self.missing else ""
            return (
                f"trustscan: failed: {len(self.tripped)} finding(s) trip "
                f"{self.gate.explain()}{also}"
            )
        if self.code is ExitCode.INCOMPLETE:
            return (
                f"trustscan: incomplete: {len(self.gaps) + len(self.missing)} part(s) of the "
                "scan did not happen "
                "(exit 4; --allow-incomplete accepts a partial scan)"
            )
        return ""


def verdict(result: ScanResult, gate: Gate, missing: tuple[str, ...] = ()) -> Verdict:
    """1 when a finding trips the gate; else 4 when the scan is incomplete
    (a probe error, or a part `missing` from the run, as its record in the
    history) and that is not allowed; else 0 (`exit_codes` says why 1 beats 4)."""
    # Imported here: the command line imports this module for `FailOn` (the
    # choices of --fail-on) at `--help`, and coverage brings the assessment.
    from scanner.outputs.coverage import uncovered

    trips = gate.judge(result)
    tripped = tuple(f for f in result.findings if trips(f))
    gaps = uncovered(result)
    if tripped:
        code = ExitCode.GATE
    elif (gaps or missing) and not gate.allow_incomplete:
        code = ExitCode.INCOMPLETE
    else:
        code = ExitCode.PASSED
    return Verdict(code, tripped, gaps, gate, missing)
