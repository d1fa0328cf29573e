"""The one line a run prints at its end: hosts, findings by severity, what
moved since the baseline, what stayed silent, files written."""

from __future__ import annotations

from pathlib import Path

from scanner.assessment.baseline import baseline_date
from scanner.model import ScanResult, Severity
from scanner.outputs.coverage import held_back, silent_hosts


def summary_line(result: ScanResult, written: list[Path], recorded: str = "") -> str:
    """`recorded`: where the history keeps the run ("run 12 in PATH")."""
    counts = result.severity_counts()
    parts = [f"{counts[s]} {s.value}" for s in reversed(Severity) if counts[s]]
    found = f"{len(result.findings)} finding(s)" + (f" ({', '.join(parts)})" if parts else "")
    errors = f", {len(result.probe_errors)} probe error(s)" if result.probe_errors else ""
    files = f"; wrote {', '.join(str(p) for p in written)}" if written else ""
    silent = f", {len(result.unanswered)} target(s) did not answer" if result.unanswered else ""
    quiet = silent_hosts(result)
    if quiet:
        silent += f", {quiet} host(s) up but silent on every port"
    held = held_back(result)
    if held:
        silent += f", {held} service(s) held their answers back"
    kept = f"; recorded as {recorded}" if recorded else ""
    return f"{len(result.hosts)} host(s) up{silent}, {found}{since(result)}{errors}{files}{kept}"


def since(result: ScanResult) -> str:
    """What moved since the baseline, for a compared result: `, 3 new, 1
    changed, 2 fixed since 2026-12-06`. Zeros are said too: "0 new" is what a
    nightly run hopes to read. Findings whose host was not scanned again are
    named apart, never as fixed."""
    comparison = result.baseline
    if comparison is None:
        return ""
    unknown = len(comparison.not_rescanned)
    rest = f" ({unknown} not rescanned)" if unknown else ""
    return (
        f", {comparison.new} new, {comparison.changed} changed, {len(comparison.fixed)} fixed "
        f"since {baseline_date(comparison.taken)}{rest}"
    )
