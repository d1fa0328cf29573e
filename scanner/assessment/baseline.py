"""A result against an earlier one, the baseline: what is new, changed, fixed.

Findings are matched by fingerprint (`scanner.rule_engine.findings.fingerprint`:
rule, host identity, protocol, port and subject), never by title or version,
so an upgrade that leaves a CVE open is the same finding, changed.

Each finding of this result is

- **new**: no finding of the baseline has its fingerprint;
- **changed**: the baseline has it, and its severity, its confidence or its
  list of CVEs (the ids, not their order) moved; a note says what moved;
- **unchanged**: the baseline has it, and none of those moved (a new title or
  new evidence alone is no change).

Each finding of the baseline that this result does not have is

- **fixed** when this scan looked where it was and did not find it again: its
  host answered this scan (listed in this result's hosts, and not only
  because `-Pn` assumed it up: some port answered), the port was probed (when
  the host's record lists its probed ports in full), and no probe of that
  port failed this time. A host is found by its address, or, for a finding the
  baseline keyed by the inventory's system name, by that system on whatever
  address it has now;
- **not rescanned** otherwise: the host was not a target this time, did not
  answer, or its port was not probed or not read. Nothing is known of these;
  they are listed apart and never counted as fixed.

A finding the team accepted (`Finding.accepted`) is compared like any other.
Compare results assessed with the same inventory: with an inventory the
fingerprints hold system names, without one addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from scanner.assessment.selection import Selection
from scanner.model import (
    BaselineComparison,
    BaselineState,
    Finding,
    Host,
    ScanResult,
)
from scanner.rule_engine.findings import Keyed, keyed_by, system_identity
from scanner.rule_engine.rules import finding_order

# Every note the comparison adds starts so; a result compared again loses the
# notes of its earlier comparison first. What moved comes first and the
# baseline's time after it, so that no odd time can be read as a change.
CHANGE_NOTE = "Since the baseline"
_TAKEN = " (the baseline's scan finished "
ARROW = "\u2192"


@dataclass(frozen=True)
class Baseline:
    """An earlier result to compare with, and where it came from (a file, or
    later a run of the scan history)."""

    source: str
    result: ScanResult


def compared(result: ScanResult, baseline: Baseline) -> ScanResult:
    """The result with each finding's state against the baseline, and the
    comparison (counts, fixed, not rescanned) in `ScanResult.baseline`."""
    earlier = baseline.result
    before: dict[str, Finding] = {}
    for finding in earlier.findings:
        before.setdefault(finding.fingerprint, finding)
    taken = earlier.finished
    findings = tuple(_judged(f, before.get(f.fingerprint), taken) for f in result.findings)
    now = {f.fingerprint for f in findings}
    gone = [f for fp, f in before.items() if fp not in now]
    coverage = Coverage(result, systems_of(earlier))
    looked = [coverage.covers(f) for f in gone]
    fixed = [f for f, seen in zip(gone, looked, strict=True) if seen]
    unknown = [f for f, seen in zip(gone, looked, strict=True) if not seen]
    counts = {state: sum(f.baseline is state for f in findings) for state in BaselineState}
    return replace(
        result,
        findings=findings,
        baseline=BaselineComparison(
            source=baseline.source,
            taken=taken,
            new=counts[BaselineState.NEW],
            changed=counts[BaselineState.CHANGED],
            unchanged=counts[BaselineState.UNCHANGED],
            fixed=_as_listed(fixed),
            not_rescanned=_as_listed(unknown),
        ),
    )


def _judged(finding: Finding, before: Finding | None, taken: str) -> Finding:
    notes = tuple(n for n in finding.notes if not n.startswith(CHANGE_NOTE))
    if before is None:
        return replace(finding, baseline=BaselineState.NEW, notes=notes)
    moved = changes(before, finding)
    if not moved:
        return replace(finding, baseline=BaselineState.UNCHANGED, notes=notes)
    note = f"{CHANGE_NOTE}: {'; '.join(moved)}{_TAKEN}{taken or 'at an unrecorded time'})."
    return replace(finding, baseline=BaselineState.CHANGED, notes=(*notes, note))


def changes(before: Finding, after: Finding) -> list[str]:
    """What moved between two findings with one fingerprint, in words; empty
    when nothing that counts did (severity, confidence, the CVE list)."""
    moved = []
    if before.severity is not after.severity:
        moved.append(f"severity {before.severity.value} {ARROW} {after.severity.value}")
    if before.confidence is not after.confidence:
        moved.append(f"confidence {before.confidence.value} {ARROW} {after.confidence.value}")
    old = {v.id for v in before.vulnerabilities}
    new = {v.id for v in after.vulnerabilities}
    if new - old:
        moved.append("CVEs added: " + ", ".join(sorted(new - old)))
    if old - new:
        moved.append("CVEs no longer listed: " + ", ".join(sorted(old - new)))
    return moved


def _as_listed(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """The baseline's findings as this comparison lists them: in report order,
    without the state of the baseline's own earlier comparison."""
    ranked = sorted(findings, key=lambda f: (finding_order(f), f.fingerprint))
    return tuple(
        replace(f, baseline=None, notes=tuple(n for n in f.notes if not n.startswith(CHANGE_NOTE)))
        for f in ranked
    )


# Port states only an answer gives: `filtered` and `open|filtered` are what
# silence looks like.
_ANSWERED = frozenset({"open", "closed", "unfiltered"})


def answered(host: Host) -> bool:
    """Whether the host answered this scan. nmap calls every target up under
    `-Pn` ("user-set"): such a host answered only if some port did (open,
    closed or unfiltered); all silent is what a host that is off looks like."""
    if host.status not in ("up", "local"):
        return False
    if host.status_reason != "user-set":
        return True
    states = [s.state for s in host.services]
    states += [p.state for p in (*host.extraports, *host.other_ports)]
    return any(state in _ANSWERED for state in states)


_LISTED = re.compile(r"([a-z]+) ([0-9][0-9,-]*)")


def port_probed(probed: str, protocol: str, port: int) -> bool:
    """Whether nmap's probed ports (`Host.probed_ports`: `tcp 22,80,8080`) hold
    this port. A long list is kept only as a count (`1000 tcp ports (1,3-4,...)`)
    and an old result has none: then the port counts as probed."""
    if not probed:
        return True
    for part in probed.split(";"):
        listed = _LISTED.fullmatch(part.strip())
        if listed is None:
            if protocol in part.split():
                return True  # a count for this protocol: its list was not kept
            continue
        if listed[1] != protocol:
            continue
        for item in listed[2].split(","):
            low, _, high = item.partition("-")
            if low and int(low) <= port <= int(high or low):
                return True
        return False
    # The protocol is not named at all: nmap probed none of its ports.
    return False


class Located(Keyed, Protocol):
    """A finding of a baseline as coverage reads it: a `Finding`, or a row of
    the scan history."""

    @property
    def host(self) -> str: ...


def systems_of(result: ScanResult) -> dict[str, str]:
    """Each host's inventory system in a result (host address: system)."""
    return {r.host: r.system for r in (result.assessment.hosts if result.assessment else ())}


class Coverage:
    """Where this scan looked: which baseline findings it could have found
    again. `earlier_systems`: the baseline's hosts' inventory systems
    (`systems_of`), so a finding keyed by its system is followed to the
    system's address now."""

    def __init__(self, result: ScanResult, earlier_systems: dict[str, str]) -> None:
        self.hosts = {h.address: h for h in result.hosts if answered(h)}
        # A system's address now, when exactly one host of this result is it.
        systems: dict[str, list[str]] = {}
        for risk in result.assessment.hosts if result.assessment else ():
            if risk.system:
                systems.setdefault(risk.system, []).append(risk.host)
        self.systems = {s: hosts[0] for s, hosts in systems.items() if len(hosts) == 1}
        self.earlier_systems = earlier_systems
        self.failed = {(e.target, e.port) for e in result.probe_errors if e.port is not None}

    def host_of(self, finding: Located) -> Host | None:
        host = self.hosts.get(finding.host)
        if host is not None:
            return host
        system = self.earlier_systems.get(finding.host, "")
        if system and keyed_by(finding, system_identity(system)) and system in self.systems:
            return self.hosts.get(self.systems[system])
        return None

    def covers(self, finding: Located) -> bool:
        host = self.host_of(finding)
        if host is None:
            return False
        if finding.port is None:
            return True
        if (host.address, finding.port) in self.failed:
            return False
        return port_probed(host.probed_ports, finding.protocol, finding.port)


def listed(findings: Sequence[Finding], state: BaselineState) -> list[Finding]:
    """The findings in one state, in report order."""
    return sorted(
        (f for f in findings if f.baseline is state),
        key=lambda f: (finding_order(f), f.fingerprint),
    )


def what_moved(finding: Finding) -> str:
    """For a changed finding, what moved since the baseline ("severity medium
    → high; CVEs added: CVE-2024-1"), from the note the comparison added."""
    for note in finding.notes:
        if note.startswith(f"{CHANGE_NOTE}: "):
            body = note[len(CHANGE_NOTE) + 2 :]
            cut = body.find(_TAKEN)
            return body[:cut] if cut >= 0 else body.rstrip(".")
    return ""


def baseline_date(taken: str) -> str:
    """The day a baseline was taken, from its ISO time (`2026-12-06`)."""
    return taken[:10] if re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", taken) else taken or "?"


def within(result: ScanResult, chosen: Selection) -> ScanResult:
    """A compared result's comparison cut to a part of the scan (`report
    --host --min-severity`), before the result itself is: the part's findings
    keep the states the whole scan gave them (a finding that fell below the
    part's severity is not "fixed" in it), and the baseline's findings
    outside the part are neither fixed nor not rescanned in it."""
    comparison = result.baseline
    if comparison is None or chosen.empty:
        return result
    hosts = {h.address for h in result.hosts if chosen.keeps_host(h)}
    floor = chosen.min_severity.rank if chosen.min_severity is not None else -1

    def keeps(finding: Finding) -> bool:
        where = finding.host in hosts or chosen.keeps_address(finding.host)
        return where and finding.severity.rank >= floor

    kept = [f for f in result.findings if keeps(f)]
    return replace(
        result,
        baseline=replace(
            comparison,
            new=sum(f.baseline is BaselineState.NEW for f in kept),
            changed=sum(f.baseline is BaselineState.CHANGED for f in kept),
            unchanged=sum(f.baseline is BaselineState.UNCHANGED for f in kept),
            fixed=tuple(f for f in comparison.fixed if keeps(f)),
            not_rescanned=tuple(f for f in comparison.not_rescanned if keeps(f)),
        ),
    )
