"""The one line a run prints at its end: hosts, findings by severity, files written."""

from __future__ import annotations

from pathlib import Path

from scanner.model import ScanResult, Severity


def summary_line(result: ScanResult, written: list[Path]) -> str:
    counts = result.severity_counts()
    parts = [f"{counts[s]} {s.value}" for s in reversed(Severity) if counts[s]]
    found = f"{len(result.findings)} finding(s)" + (f" ({', '.join(parts)})" if parts else "")
    errors = f", {len(result.probe_errors)} probe error(s)" if result.probe_errors else ""
    files = f"; wrote {', '.join(str(p) for p in written)}" if written else ""
    silent = f", {len(result.unanswered)} target(s) did not answer" if result.unanswered else ""
    return f"{len(result.hosts)} host(s) up{silent}, {found}{errors}{files}"
