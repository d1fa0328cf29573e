"""What a scan did not cover, and why: the lines printed after the summary.

Every `ProbeError` of a result is a part of the scan that did not happen, so
every one makes the result incomplete (exit 4 unless `--allow-incomplete`):

- discovery: an nmap batch that timed out (`timeout`: its targets were not
  scanned, though the summary counts them among those that did not answer),
  that failed (`nmap-error`, `bad-xml`), or, for `--nmap-xml`, a run that
  did not finish (`incomplete`) or entries dropped as impossible
  (`invalid-entry`);
- `firewall:ack`: a batch of the ACK scan that failed, so those hosts'
  packet-filter posture is unknown;
- `probe:*`: a probe that failed or ran out of its time budget
  (`TimeBudget`), so what it looks for on that port was not looked for;
- `local:*`: a part of this machine's firewall rules or sockets that could
  not be read or parsed (without root, the rules cannot be read).

A target that did not answer (down, unresolvable) is not a gap: the scan
asked, and that is its answer.

The kinds of gap are the assessment's (`scanner.assessment.coverage.gap_kind`),
so the console, the reports and the JSON result's `coverage` name them alike.
`coverage_summary` is the short account of what was checked and found clean
and what was not scanned, for after the closing line.
"""

from __future__ import annotations

from scanner.assessment.baseline import answered
from scanner.assessment.coverage import EXAMPLES as EXAMPLES  # gaps named per kind
from scanner.assessment.coverage import (
    checks_line,
    error_where,
    gap_kind,
    result_coverage,
    untested_names,
)
from scanner.model import ProbeError, ScanResult
from scanner.outputs.terminal import one_line

_EXAMPLE_CHARS = 160
_SUMMARY_CHARS = 600


def uncovered(result: ScanResult) -> tuple[ProbeError, ...]:
    """The parts of the scan that did not happen: all its probe errors."""
    return result.probe_errors


def _example(error: ProbeError) -> str:
    said = error.message if error.message != error.reason else ""
    text = f"{error_where(error)} ({error.reason})" + (f": {said}" if said else "")
    return one_line(text, _EXAMPLE_CHARS)


def coverage_lines(result: ScanResult) -> list[str]:
    """One line per kind of gap, naming up to EXAMPLES of them; none when complete."""
    by_kind: dict[str, list[ProbeError]] = {}
    for error in uncovered(result):
        by_kind.setdefault(gap_kind(error), []).append(error)
    lines = []
    for kind, errors in by_kind.items():
        named = "; ".join(_example(e) for e in errors[:EXAMPLES])
        more = f"; and {len(errors) - EXAMPLES} more" if len(errors) > EXAMPLES else ""
        lines.append(f"trustscan: not covered: {len(errors)} {kind}: {named}{more}")
    return lines


def execution_lines(result: ScanResult) -> list[str]:
    """What the run says about where it ran: the batches a lost Dask worker
    made run again. Not gaps: their hosts were scanned, once."""
    execution = result.execution
    return [f"trustscan: note: {line}" for line in (execution.retried if execution else ())]


def coverage_summary(result: ScanResult) -> list[str]:
    """What was checked and found clean, and what was not scanned, in two
    lines (the report's Coverage section and the JSON's `coverage` say more)."""
    coverage = result_coverage(result)
    lines = []
    checked = checks_line(coverage)
    if checked:
        lines.append(one_line(f"trustscan: checked, clean: {checked}", _SUMMARY_CHARS))
    lines.append(
        one_line(
            f"trustscan: not scanned: {coverage.not_scanned}; never tested: "
            + ", ".join(untested_names(coverage.not_tested)),
            _SUMMARY_CHARS,
        )
    )
    return lines


def silent_hosts(result: ScanResult) -> int:
    """Hosts counted as up (`-Pn`) on which no port answered: nothing behind
    them was checked."""
    return sum(1 for host in result.hosts if not answered(host))


def held_back(result: ScanResult) -> int:
    """Services that held a probe's answer back until its budget ran out (tarpits)."""
    return sum(1 for o in result.observations if o.key == "http.incomplete")
