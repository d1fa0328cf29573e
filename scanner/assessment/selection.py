"""A part of a scan: the hosts and the severities a report is asked to show
(`trustscan report RESULT --host 10.1.0.0/16 --min-severity high`).

A scan of a /16 holds more than one page can show; the whole result stays in
its JSON file, and a report of a part is made from it. The part is a result
of its own: its hosts, their observations, findings at or above the
severity, the errors about them, assessed again, and labelled with the
selection so that nobody reads it as the whole scan.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scanner.model import Host, ScanResult, Severity
from scanner.support.errors import InputError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)+")


@dataclass(frozen=True)
class Selection:
    networks: tuple[Network, ...] = ()
    names: tuple[str, ...] = ()  # host names, lower case
    min_severity: Severity | None = None

    @property
    def empty(self) -> bool:
        return not self.networks and not self.names and self.min_severity is None

    def keeps_address(self, address: str) -> bool:
        if not self.networks and not self.names:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address.lower().rstrip(".") in self.names
        return any(ip in network for network in self.networks)

    def keeps_host(self, host: Host) -> bool:
        names = (n.lower().rstrip(".") for n in host.hostnames)
        return self.keeps_address(host.address) or any(n in self.names for n in names)

    def describe(self) -> str:
        parts = []
        if self.networks or self.names:
            shown = [_shown(n) for n in self.networks] + list(self.names)
            parts.append(f"hosts {', '.join(shown)}")
        if self.min_severity is not None:
            parts.append(f"findings {self.min_severity.value} or worse")
        return "; ".join(parts)


def selection(hosts: Sequence[str], min_severity: str | None) -> Selection:
    """The user's `--host` and `--min-severity` values, checked."""
    networks: list[Network] = []
    names: list[str] = []
    for value in hosts:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
            continue
        except ValueError:
            pass
        name = value.strip().lower().rstrip(".")
        if not _NAME.fullmatch(name):
            raise InputError(
                f"--host {value[:60]!r}: give an address, a CIDR block (10.1.0.0/16) or a host name"
            )
        names.append(name)
    severity = Severity(min_severity) if min_severity is not None else None
    return Selection(tuple(networks), tuple(names), severity)


def narrowed(result: ScanResult, chosen: Selection) -> ScanResult:
    """The part of `result` that `chosen` selects, not yet assessed.

    Its coverage is the whole scan's, cut to its hosts: a check that found a
    weakness below the part's severity did not find nothing."""
    # Imported here: the coverage reads the baseline's idea of a host that
    # answered, and the baseline imports this module.
    from scanner.assessment.coverage import coverage_of, within

    hosts = tuple(h for h in result.hosts if chosen.keeps_host(h))
    kept = {h.address for h in hosts}
    floor = chosen.min_severity.rank if chosen.min_severity is not None else -1
    earlier = f"{result.selection}; " if result.selection else ""
    whole = result.coverage if result.coverage is not None else coverage_of(result)
    unanswered = tuple(t for t in result.unanswered if chosen.keeps_address(t))
    return replace(
        result,
        coverage=replace(within(whole, kept), unanswered=unanswered),
        hosts=hosts,
        observations=tuple(o for o in result.observations if o.host in kept),
        findings=tuple(f for f in result.findings if f.host in kept and f.severity.rank >= floor),
        # Errors about a batch or a file concern what the whole scan covered: kept.
        probe_errors=tuple(
            e for e in result.probe_errors if e.target in kept or not _is_address(e.target)
        ),
        unanswered=unanswered,
        selection=earlier + chosen.describe(),
        assessment=None,
    )


def _shown(network: Network) -> str:
    """A one-address network as the address, a block as CIDR."""
    single = network.prefixlen == network.max_prefixlen
    return str(network.network_address) if single else str(network)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
