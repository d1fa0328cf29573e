"""Packet-filter posture from the outside: how a host answered the ports nmap probed.

A host with no packet filter answers every closed TCP port with a reset; a
filter drops the probe (no response) or answers with an ICMP unreachable.
The posture is a fact about the host; the rules in `rules/firewall.yaml`
decide what is enough evidence to call it "no packet filter" (they state the
threshold and why).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from scanner.model import Host, Observation, PortStateCount

PROBE = "firewall"


class Posture(str, Enum):
    FILTERED = "filtered"  # every closed port was silent or unreachable
    PARTIAL = "partially-filtered"  # some ports reset, some silent
    UNFILTERED = "unfiltered"  # not one probed port was filtered
    NOTHING_PROBED = "nothing-probed"  # only open ports, or nothing at all


@dataclass(frozen=True)
class PortTally:
    """TCP ports of one host by how they answered."""

    open: int = 0
    reset: int = 0  # closed: a RST came back (SYN scan), or unfiltered (ACK scan)
    filtered: int = 0  # no response, or an ICMP unreachable
    other: int = 0  # open|filtered and anything nmap could not tell

    @property
    def probed(self) -> int:
        return self.open + self.reset + self.filtered + self.other


def tally(host: Host) -> PortTally:
    """Count a SYN/connect scan's answers: the open services and the folded-away rest."""
    open_tcp = sum(1 for s in host.services if s.protocol == "tcp" and s.state == "open")
    other_services = sum(1 for s in host.services if s.protocol == "tcp" and s.state != "open")
    counts = _by_state((*host.other_ports, *host.extraports))
    return PortTally(
        open=open_tcp,
        reset=counts.get("closed", 0) + counts.get("unfiltered", 0),
        filtered=counts.get("filtered", 0),
        other=other_services
        + sum(
            n for state, n in counts.items() if state not in ("closed", "unfiltered", "filtered")
        ),
    )


def _by_state(groups: Iterable[PortStateCount]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for group in groups:
        counts[group.state] = counts.get(group.state, 0) + group.count
    return counts


def classify(counts: PortTally) -> Posture:
    if counts.filtered and counts.reset:
        return Posture.PARTIAL
    if counts.filtered:
        return Posture.FILTERED
    if counts.reset:
        return Posture.UNFILTERED
    return Posture.NOTHING_PROBED


def _reasons(groups: Iterable[PortStateCount], state: str) -> str:
    """`no-response 990, admin-prohibited 7` for the ports in `state`."""
    merged: dict[str, int] = {}
    for group in groups:
        if group.state == state:
            for reason in group.reasons:
                merged[reason.reason] = merged.get(reason.reason, 0) + reason.count
    return ", ".join(f"{r} {n}" for r, n in sorted(merged.items(), key=lambda i: -i[1]))


def _describe(host: Host, counts: PortTally, scan: str) -> str:
    groups = (*host.other_ports, *host.extraports)
    reset_state = "unfiltered" if scan == "ACK scan" else "closed"
    parts = [f"{counts.open} open"] if scan != "ACK scan" else []
    for label, number, state in (
        (f"{reset_state} (reset)", counts.reset, reset_state),
        ("filtered", counts.filtered, "filtered"),
    ):
        why = _reasons(groups, state)
        parts.append(f"{number} {label}" + (f": {why}" if why and number else ""))
    if counts.other:
        parts.append(f"{counts.other} other")
    probed = f" ({host.probed_ports})" if host.probed_ports else ""
    return f"nmap {scan} of {counts.probed} TCP ports{probed}: " + "; ".join(parts)


def posture_observations(host: Host, ack: Host | None = None) -> tuple[Observation, ...]:
    """Host-level facts: the posture, and the counts rules weigh it by.

    `ack` is the same host seen by an ACK scan (`--firewall-probe ack`), whose
    unfiltered/filtered verdicts describe the filter without any service.
    """
    syn = tally(host)
    facts = [
        ("firewall.posture", classify(syn).value, _describe(host, syn, "scan")),
        ("firewall.probed_ports", str(syn.probed), ""),
        ("firewall.filtered_ports", str(syn.filtered), ""),
    ]
    answering = syn.reset
    if ack is not None:
        acked = tally(ack)
        # An ACK scan has no open ports: every port is unfiltered or filtered.
        acked = PortTally(reset=acked.reset, filtered=acked.filtered, other=acked.other)
        facts.append(("firewall.ack", classify(acked).value, _describe(ack, acked, "ACK scan")))
        facts.append(("firewall.ack_filtered_ports", str(acked.filtered), ""))
        answering = max(answering, acked.reset) if not acked.filtered else answering
    facts.append(("firewall.answering_ports", str(answering), ""))
    return tuple(
        Observation(host=host.address, port=None, probe=PROBE, key=key, value=value, evidence=ev)
        for key, value, ev in facts
    )
