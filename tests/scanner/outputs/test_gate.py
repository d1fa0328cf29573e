"""The exit verdict: --fail-on, --fail-on-new, accepted risks, incomplete scans."""

from __future__ import annotations

import re
import signal

import pytest

from scanner.model import (
    Acceptance,
    BaselineComparison,
    BaselineState,
    Finding,
    ScanResult,
    Severity,
)
from scanner.outputs.gate import FailOn, Gate, verdict
from scanner.support import signals
from scanner.support.errors import InputError, ScanFailed
from scanner.support.exit_codes import MEANING, ExitCode, exit_code_help
from tests.factories import make_finding, make_probe_error, make_result
from tests.support import REPO

COMPARED = BaselineComparison(source="baseline.json", taken="2026-11-01T10:00:00+00:00")


def _acceptance(expired: bool = False) -> Acceptance:
    return Acceptance(
        owner="web-team@example.test",
        expires="2026-12-31",
        reason="behind the VPN until the migration",
        source="accepted.yaml:4",
        expired=expired,
    )


def _result(*findings: Finding, compared: bool = False, errors: int = 0) -> ScanResult:
    return make_result(
        findings=findings,
        probe_errors=tuple(make_probe_error(port=443 + i) for i in range(errors)),
        baseline=COMPARED if compared else None,
    )


@pytest.mark.parametrize(
    ("fail_on", "code", "tripped"),
    [
        (FailOn.NEVER, ExitCode.PASSED, 0),
        (FailOn.INFO, ExitCode.GATE, 2),
        (FailOn.HIGH, ExitCode.GATE, 1),  # the high finding reaches it, the low does not
        (FailOn.CRITICAL, ExitCode.PASSED, 0),
    ],
)
def test_fail_on_trips_at_or_above_its_severity(
    fail_on: FailOn, code: ExitCode, tripped: int
) -> None:
    high, low = make_finding(severity=Severity.HIGH), make_finding(severity=Severity.LOW, port=8)
    decided = verdict(_result(high, low), Gate(fail_on=fail_on))
    assert decided.code is code
    assert len(decided.tripped) == tripped


@pytest.mark.parametrize(
    ("state", "trips"),
    [
        (BaselineState.NEW, True),
        (BaselineState.CHANGED, True),
        (BaselineState.UNCHANGED, False),
        (None, True),  # compared, yet no state: counted as new, never let through
    ],
)
def test_fail_on_new_trips_on_new_and_changed_findings(
    state: BaselineState | None, trips: bool
) -> None:
    finding = make_finding(severity=Severity.CRITICAL, baseline=state)
    decided = verdict(_result(finding, compared=True), Gate(fail_on_new=FailOn.HIGH))
    assert decided.code is (ExitCode.GATE if trips else ExitCode.PASSED)


def test_fail_on_new_respects_its_severity() -> None:
    new_low = make_finding(severity=Severity.LOW, baseline=BaselineState.NEW)
    old_high = make_finding(port=443, severity=Severity.HIGH, baseline=BaselineState.UNCHANGED)
    result = _result(new_low, old_high, compared=True)
    assert verdict(result, Gate(fail_on_new=FailOn.MEDIUM)).code is ExitCode.PASSED
    assert verdict(result, Gate(fail_on_new=FailOn.LOW)).tripped == (new_low,)
    # --fail-on still sees the old one: the two gates are separate.
    both = verdict(result, Gate(fail_on=FailOn.HIGH, fail_on_new=FailOn.LOW))
    assert set(both.tripped) == {new_low, old_high}


def test_without_a_baseline_every_finding_is_new() -> None:
    finding = make_finding(severity=Severity.HIGH)  # no state: not compared
    assert verdict(_result(finding), Gate(fail_on_new=FailOn.HIGH)).code is ExitCode.GATE
    assert verdict(_result(finding), Gate(fail_on_new=FailOn.CRITICAL)).code is ExitCode.PASSED


@pytest.mark.parametrize("gate", [Gate(fail_on=FailOn.INFO), Gate(fail_on_new=FailOn.INFO)])
def test_an_accepted_risk_trips_neither_gate_until_it_expires(gate: Gate) -> None:
    accepted = make_finding(severity=Severity.CRITICAL, accepted=_acceptance())
    assert verdict(_result(accepted), gate).code is ExitCode.PASSED
    expired = make_finding(severity=Severity.CRITICAL, accepted=_acceptance(expired=True))
    decided = verdict(_result(expired), gate)
    assert decided.code is ExitCode.GATE
    assert decided.tripped == (expired,)


def test_an_incomplete_scan_exits_4_unless_allowed() -> None:
    result = _result(make_finding(severity=Severity.HIGH), errors=2)
    decided = verdict(result, Gate(fail_on=FailOn.CRITICAL))
    assert decided.code is ExitCode.INCOMPLETE
    assert decided.gaps == result.probe_errors
    assert "2 part(s) of the scan did not happen" in decided.line()
    allowed = verdict(result, Gate(fail_on=FailOn.CRITICAL, allow_incomplete=True))
    assert allowed.code is ExitCode.PASSED
    assert allowed.line() == ""
    assert verdict(_result(errors=0), Gate()).code is ExitCode.PASSED


@pytest.mark.parametrize("allow", [False, True])
def test_a_tripped_gate_beats_an_incomplete_scan(allow: bool) -> None:
    result = _result(make_finding(severity=Severity.HIGH), errors=1)
    decided = verdict(result, Gate(fail_on=FailOn.HIGH, allow_incomplete=allow))
    assert decided.code is ExitCode.GATE
    assert "trip --fail-on high" in decided.line()
    assert "also incomplete" in decided.line()


def test_the_judgement_handed_to_junit_is_the_gates() -> None:
    new = make_finding(severity=Severity.HIGH, baseline=BaselineState.NEW)
    same = make_finding(port=443, severity=Severity.HIGH, baseline=BaselineState.UNCHANGED)
    judge = Gate(fail_on_new=FailOn.HIGH).judge(_result(new, same, compared=True))
    assert (judge(new), judge(same)) == (True, False)


def test_the_exit_codes_are_one_table() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130, 143]
    assert set(MEANING) == set(ExitCode)
    assert InputError("x").exit_code is ExitCode.USAGE
    assert ScanFailed("x").exit_code is ExitCode.SCAN_FAILED
    sigint = KeyboardInterrupt()
    sigterm = signals.Interrupted(signal.SIGTERM)
    assert signals.exit_code(sigint) == ExitCode.INTERRUPTED
    assert signals.exit_code(sigterm) == ExitCode.TERMINATED
    text = exit_code_help()
    for code in ExitCode:
        assert f"  {int(code):>3}  " in text
    # The table's lines are kept as they are (click rewraps only the paragraph after it).
    table = text.split("\n\n")[0].splitlines()
    assert all(len(line) <= 80 for line in table)


def test_the_readme_has_the_same_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^  \| ([0-9, ]+) \| (.+) \|$", readme, re.MULTILINE)
    codes = [int(c) for code, _ in rows for c in code.split(",")]
    assert codes == [int(c) for c in ExitCode]
    assert "the first of 130/143, 2, 3, 1, 4 wins" in readme
