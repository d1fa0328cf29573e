"""What `trustscan diff` prints: a result against its baseline, as a table for
a terminal. New, changed, fixed and not-rescanned findings, one a line, and
the counts; unchanged ones are only counted.

Titles and hosts may hold what a target sent: every cell is made
terminal-safe (`outputs.terminal`).
"""

from __future__ import annotations

from collections.abc import Sequence

from scanner.assessment.baseline import listed, what_moved
from scanner.model import BaselineComparison, BaselineState, Finding, ScanResult
from scanner.outputs.terminal import one_line as plain

HEADINGS = ("STATE", "SEVERITY", "WHERE", "RULE", "FINDING")
NOT_RESCANNED = "not rescanned"


def _where(finding: Finding) -> str:
    if finding.port is None:
        return finding.host
    host = f"[{finding.host}]" if ":" in finding.host else finding.host
    return f"{host}:{finding.port}/{finding.protocol}"


def counts_line(comparison: BaselineComparison) -> str:
    return (
        f"{comparison.new} new, {comparison.changed} changed, {comparison.unchanged} unchanged, "
        f"{len(comparison.fixed)} fixed, {len(comparison.not_rescanned)} {NOT_RESCANNED}"
    )


def comparison_table(result: ScanResult) -> str:
    """The comparison of a compared result; a line saying there is none otherwise."""
    comparison = result.baseline
    if comparison is None:
        return "This result was not compared with a baseline.\n"
    rows: list[tuple[str, Finding]] = [
        *((BaselineState.NEW.value, f) for f in listed(result.findings, BaselineState.NEW)),
        *((BaselineState.CHANGED.value, f) for f in listed(result.findings, BaselineState.CHANGED)),
        *(("fixed", f) for f in comparison.fixed),
        *((NOT_RESCANNED, f) for f in comparison.not_rescanned),
    ]
    lines = [
        f"Compared with {plain(comparison.source)}, a scan that finished "
        f"{plain(comparison.taken) or 'at an unrecorded time'}:",
        counts_line(comparison),
    ]
    if not rows:
        return "\n".join([*lines, "", "No finding is new, changed or gone."]) + "\n"
    lines += ["", *_table(rows)]
    if comparison.not_rescanned:
        lines += [
            "",
            f"{NOT_RESCANNED.capitalize()}: their host or port was not scanned again this time "
            "(not a target, no answer, the port not probed or its probe failed); nothing is "
            "known of them, and they are not counted as fixed.",
        ]
    return "\n".join(lines) + "\n"


def _table(rows: Sequence[tuple[str, Finding]]) -> list[str]:
    cells = [
        (state, f.severity.value, plain(_where(f)), plain(f.rule_id), plain(f.title))
        for state, f in rows
    ]
    widths = [max(len(row[i]) for row in [HEADINGS, *cells]) for i in range(len(HEADINGS) - 1)]

    def line(row: Sequence[str]) -> str:
        fixed = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        return f"{fixed}  {row[-1]}"

    out = [line(HEADINGS)]
    indent = " " * (sum(widths) + 2 * len(widths))
    for (state, finding), row in zip(rows, cells, strict=True):
        out.append(line(row))
        moved = what_moved(finding) if state == BaselineState.CHANGED.value else ""
        if moved:
            out.append(f"{indent}{plain(moved)}")
    return out
