"""`trustscan local`: audit the machine trustscan runs on, from the inside.

Reads the packet-filter rulesets (nftables, iptables, ip6tables), the ufw
and firewalld front-ends and the listening TCP sockets, and turns them into a
`Host` with observations that `rules/local.yaml` judges: no firewall, an
input policy that accepts, data stores listening on the network that no rule
restricts. What cannot be read (most of it without root) is said, never guessed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from scanner.local.commands import Runner, run_command
from scanner.local.frontends import FrontendState, firewalld_state, one_line, ufw_state
from scanner.local.iptables import parse_iptables_save
from scanner.local.nftables import parse_nft_json
from scanner.local.ruleset import (
    Action,
    Ruleset,
    RulesetError,
    has_input_filtering,
    input_policy,
    port_access,
)
from scanner.local.sockets import Listener, read_listeners
from scanner.model import Host, Observation, ProbeError, Service

PROBE = "local"


class FirewallVerdict(str, Enum):
    NONE = "none"  # no input chain, or input chains that accept everything
    ACCEPTING_POLICY = "accepting-policy"  # input policy accept, some drop rules
    DEFAULT_DENY = "default-deny"  # an input chain drops or rejects by default
    UNKNOWN = "unknown"  # no ruleset could be read


@dataclass(frozen=True)
class LocalAudit:
    host: Host
    observations: tuple[Observation, ...]
    errors: tuple[ProbeError, ...]
    commands: tuple[str, ...]


@dataclass(frozen=True)
class _Source:
    argv: tuple[str, ...]
    backend: str
    family: str  # for iptables-save: ip or ip6


_SOURCES = (
    _Source(("nft", "-j", "list", "ruleset"), "nftables", ""),
    _Source(("iptables-save",), "iptables", "ip"),
    _Source(("ip6tables-save",), "ip6tables", "ip6"),
)
_DENIED = ("operation not permitted", "permission denied", "must be root")


@dataclass(frozen=True)
class RulesetReading:
    rulesets: tuple[Ruleset, ...]
    read: tuple[str, ...]  # "nft -j list ruleset", ...
    missing: tuple[str, ...]  # tools not installed
    unreadable: tuple[str, ...]  # "iptables-save: Permission denied (you must be root)"
    errors: tuple[ProbeError, ...]  # output trustscan could not parse


def read_rulesets(target: str, run: Runner = run_command) -> RulesetReading:
    rulesets: list[Ruleset] = []
    read: list[str] = []
    missing: list[str] = []
    unreadable: list[str] = []
    errors: list[ProbeError] = []
    for source in _SOURCES:
        command = " ".join(source.argv)
        out = run(source.argv)
        if out.missing:
            missing.append(source.argv[0])
            continue
        if out.returncode != 0:
            said = one_line(out.stderr or out.stdout) or f"exit status {out.returncode}"
            unreadable.append(f"{command}: {said}")
            continue
        try:
            if source.backend == "nftables":
                ruleset = parse_nft_json(out.stdout, command)
            else:
                ruleset = parse_iptables_save(out.stdout, command, source.family)
        except RulesetError as exc:
            errors.append(ProbeError(f"{PROBE}:{source.backend}", target, "unparsable", str(exc)))
            continue
        read.append(command)
        rulesets.append(ruleset)
    return RulesetReading(
        _without_duplicates(rulesets), tuple(read), tuple(missing), tuple(unreadable), tuple(errors)
    )


def _without_duplicates(rulesets: Sequence[Ruleset]) -> tuple[Ruleset, ...]:
    """iptables-nft keeps its tables in nftables, so `nft list ruleset` shows
    them again, with iptables matches it can only print as opaque `xt`
    expressions; iptables-save reads them faithfully, so keep its copy."""
    from_iptables = {
        ("ip" if rs.backend == "iptables" else "ip6", chain.table)
        for rs in rulesets
        if rs.backend != "nftables"
        for chain in rs.chains
    }
    kept: list[Ruleset] = []
    for rs in rulesets:
        if rs.backend == "nftables":
            chains = tuple(c for c in rs.chains if (c.family, c.table) not in from_iptables)
            rs = Ruleset(rs.backend, rs.origin, chains)
        kept.append(rs)
    return tuple(kept)


def firewall_verdict(reading: RulesetReading) -> tuple[FirewallVerdict, str]:
    """The verdict and one sentence of evidence."""
    if not reading.read:
        why = "; ".join(reading.unreadable) or (
            "neither nft nor iptables-save is installed" if reading.missing else "nothing read"
        )
        return FirewallVerdict.UNKNOWN, f"no ruleset could be read: {why}"
    policies = input_policy(reading.rulesets)
    sources = ", ".join(reading.read)
    if not policies:
        return FirewallVerdict.NONE, f"no input chain in {sources}: nothing filters inbound traffic"
    shown = "; ".join(f"{label}: policy {action.value}" for label, action in policies)
    if any(action in (Action.DROP, Action.REJECT) for _, action in policies):
        return FirewallVerdict.DEFAULT_DENY, shown
    if has_input_filtering(reading.rulesets):
        return FirewallVerdict.ACCEPTING_POLICY, f"{shown}; some rules drop or reject"
    return FirewallVerdict.NONE, f"{shown}; no rule drops or rejects anything"


# Which service a listening socket is, by process name first (the port may be
# anything), then by the port for processes whose name says nothing (java).
_BY_PROCESS = {
    "postgres": "postgresql",
    "postmaster": "postgresql",
    "mysqld": "mysql",
    "mariadbd": "mysql",
    "redis-server": "redis",
    "valkey-server": "redis",
    "mongod": "mongodb",
    "memcached": "memcached",
    "sshd": "ssh",
    "in.telnetd": "telnet",
    "telnetd": "telnet",
    "vsftpd": "ftp",
    "proftpd": "ftp",
    "apache2": "http",
    "httpd": "http",
    "nginx": "http",
    "dockerd": "docker",
    "xrdp": "ms-wbt-server",
    "Xvnc": "vnc",
    "x11vnc": "vnc",
}
_BY_PORT = {
    5432: "postgresql",
    3306: "mysql",
    6379: "redis",
    27017: "mongodb",
    11211: "memcached",
    9200: "elasticsearch",
    9300: "elasticsearch",
    5984: "couchdb",
    1433: "ms-sql-s",
    1521: "oracle-tns",
    22: "ssh",
    23: "telnet",
    3389: "ms-wbt-server",
    5900: "vnc",
    2375: "docker",
    80: "http",
    443: "https",
}


def service_name(listener: Listener) -> str:
    return _BY_PROCESS.get(listener.process) or _BY_PORT.get(listener.port, "")


def _listener_services(
    listeners: Sequence[Listener], reading: RulesetReading, verdict: FirewallVerdict, target: str
) -> tuple[list[Service], list[Observation]]:
    """One service per port that listens beyond loopback, with whether any
    rule restricts who may connect to it."""
    by_port: dict[int, list[Listener]] = {}
    for listener in listeners:
        if listener.protocol == "tcp" and not listener.loopback:
            by_port.setdefault(listener.port, []).append(listener)
    services: list[Service] = []
    observations: list[Observation] = []
    for port, group in sorted(by_port.items()):
        first = group[0]
        addresses = ", ".join(dict.fromkeys(f"{x.address}" for x in group))
        owner = f"process {first.process} (pid {first.pid})" if first.process else "owner unknown"
        services.append(
            Service(
                port=port,
                protocol="tcp",
                state="listening",
                reason="local socket",
                name=service_name(first),
                extrainfo=f"on {addresses}; {owner}",
                method="local",
            )
        )
        wildcard = any(x.wildcard for x in group)
        observations.append(
            Observation(
                target,
                port,
                PROBE,
                "local.bind",
                "all-addresses" if wildcard else "specific-address",
                f"listening on {addresses}",
            )
        )
        value, evidence = _restriction(group, reading, verdict)
        observations.append(Observation(target, port, PROBE, "local.listener", value, evidence))
    return services, observations


def _restriction(
    group: Sequence[Listener], reading: RulesetReading, verdict: FirewallVerdict
) -> tuple[str, str]:
    if verdict is FirewallVerdict.UNKNOWN:
        return "unknown", "the firewall rules could not be read"
    reasons: list[str] = []
    for family in dict.fromkeys(x.family for x in group):
        access = port_access(reading.rulesets, "tcp", group[0].port, family)
        if access.open_to_all:
            return "unrestricted", f"{family}: {access.reason}"
        reasons.append(f"{family}: {access.reason}")
    return "restricted", "; ".join(reasons)


def _frontend_observation(target: str, state: FrontendState) -> Observation | None:
    if not state.installed:
        return None
    value = "unknown" if state.active is None else "active" if state.active else "inactive"
    evidence = "; ".join(p for p in (state.detail, state.note) if p)
    return Observation(target, None, PROBE, f"local.{state.name}", value, evidence)


_CAP_NET_ADMIN = 12


def may_read_rulesets(status: Path = Path("/proc/self/status")) -> bool:
    """Reading nftables and iptables needs CAP_NET_ADMIN, which root has unless
    its capabilities were dropped (a container, setpriv)."""
    try:
        for line in status.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> _CAP_NET_ADMIN & 1)
    except (OSError, ValueError, IndexError):
        pass
    return os.geteuid() == 0


def audit_local(run: Runner = run_command, proc: Path = Path("/proc")) -> LocalAudit:
    target = socket.gethostname() or "localhost"
    reading = read_rulesets(target, run)
    verdict, why = firewall_verdict(reading)
    observations = [Observation(target, None, PROBE, "local.firewall", verdict.value, why)]
    errors = list(reading.errors)
    if reading.unreadable:
        hint = "" if may_read_rulesets() else " (run trustscan local as root to read them)"
        errors.extend(
            ProbeError(f"{PROBE}:firewall", target, "unreadable", text + hint)
            for text in reading.unreadable
        )
    for state in (ufw_state(run), firewalld_state(run)):
        found = _frontend_observation(target, state)
        if found is not None:
            observations.append(found)
    scan = read_listeners(proc, run)
    services, listening = _listener_services(scan.listeners, reading, verdict, target)
    observations.extend(listening)
    errors.extend(ProbeError(f"{PROBE}:sockets", target, "incomplete", n) for n in scan.notes)
    host = Host(
        address=target,
        status="local",
        status_reason="trustscan local",
        hostnames=(target,),
        services=tuple(services),
    )
    return LocalAudit(host, tuple(observations), tuple(errors), reading.read)
