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
"""

from __future__ import annotations

from collections.abc import Callable

from scanner.model import ProbeError, ScanResult
from scanner.outputs.terminal import one_line

EXAMPLES = 3  # gaps named per kind; the rest counted (all are in the JSON result)
_EXAMPLE_CHARS = 160


def uncovered(result: ScanResult) -> tuple[ProbeError, ...]:
    """The parts of the scan that did not happen: all its probe errors."""
    return result.probe_errors


def _family(error: ProbeError) -> str:
    """`probe:http` -> `probe`: the stage without the probe's or backend's name."""
    return error.stage.split(":", 1)[0]


# (which errors, what they are called), first match wins.
_KINDS: tuple[tuple[Callable[[ProbeError], bool], str], ...] = (
    (lambda e: e.stage == "discovery" and e.reason == "timeout", "nmap batch(es) timed out"),
    (lambda e: e.stage == "discovery" and e.reason == "incomplete", "nmap run(s) did not finish"),
    (
        lambda e: e.stage == "discovery" and e.reason == "invalid-entry",
        "nmap XML entr(ies) dropped",
    ),
    (lambda e: e.stage == "discovery", "nmap batch(es) failed"),
    (lambda e: _family(e) == "firewall", "ACK scan batch(es) failed"),
    (lambda e: _family(e) == "probe" and e.reason == "TimeBudget", "probe(s) ran out of time"),
    (lambda e: _family(e) == "probe", "probe(s) failed"),
    (lambda e: _family(e) == "local", "part(s) of the local audit could not be read"),
)


def _kind(error: ProbeError) -> str:
    return next((name for test, name in _KINDS if test(error)), "other part(s) did not complete")


def _where(error: ProbeError) -> str:
    target = f"{error.target}:{error.port}" if error.port is not None else error.target
    if error.stage.startswith("probe:"):
        return f"{error.stage.removeprefix('probe:')} on {target}"
    return target


def _example(error: ProbeError) -> str:
    said = error.message if error.message != error.reason else ""
    text = f"{_where(error)} ({error.reason})" + (f": {said}" if said else "")
    return one_line(text, _EXAMPLE_CHARS)


def coverage_lines(result: ScanResult) -> list[str]:
    """One line per kind of gap, naming up to EXAMPLES of them; none when complete."""
    by_kind: dict[str, list[ProbeError]] = {}
    for error in uncovered(result):
        by_kind.setdefault(_kind(error), []).append(error)
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
