"""What a scan covered, and what it did not: the facts an auditor signs off on.

A list of findings says what is wrong. It does not say what was looked at and
found right, nor what was never looked at. `coverage_of` reads both from a
result and makes its `Coverage`:

- **ports**: which were scanned and how they were chosen (`port_choice`, or
  what nmap recorded), and which were not;
- **silence**: the targets that did not answer, those whose scan or probe ran
  out of time or held a probe's answer back (a tarpit), and the hosts nmap
  assumed up (`-Pn`) that answered on no port;
- **gaps**: the probe errors by kind (`gap_kind`), each a part of the scan
  that did not happen;
- **checks per host** (`CHECKS`): which kinds of check ran on which services,
  how many showed a weakness (a finding of low severity or worse), how many
  could not finish, and so how many were checked and found clean. This is
  read from the observations, which say which probe ran where, and from the
  services themselves for the checks the rules make of every banner;
- **fixed by the distribution**: the known vulnerabilities a distribution's
  backports fixed in the installed package (`Finding.fixed_by_distribution`);
- **records**: how each customer-record count was made (`scanner.assessment.records`);
- **not tested**: what trustscan never tests (`NOT_TESTED`, the README's list).

Known gap: a group of CVEs the distribution fixed entirely leaves no finding,
and the rule engine hands nothing else on, so such a group is not listed
(`FixedGroup.entirely` is there for when it does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from scanner.assessment.baseline import answered
from scanner.model import (
    CheckRun,
    Coverage,
    Finding,
    FixedGroup,
    GapCount,
    Host,
    HostCoverage,
    Observation,
    ProbeError,
    RecordCount,
    ScanResult,
    Severity,
    address_key,
)
from scanner.support.progress import QUIET, Progress

EXAMPLES = 3  # gaps named per kind; the rest are counted
_EXAMPLE_CHARS = 160
_NOTE_CHARS = 200
_NOTES = 5  # notes kept per check and host
TCP_PORTS = 65_535
COVERING = "assessing coverage"
_STEP = 1000  # hosts between two reports of progress

# What trustscan never tests, whatever the options: the README's "not
# covered" lists, and what follows from what it reads (a banner, not a login).
NOT_TESTED: tuple[str, ...] = (
    "SSLv3: the local OpenSSL 3 cannot speak it (a service offering only SSLv3 is "
    "reported as untestable)",
    "STARTTLS: TLS started inside another protocol (SMTP, IMAP, POP3, FTP) is not negotiated",
    "TLS cipher suites: only the protocol versions and the certificate are judged",
    "Certificate revocation: OCSP and CRLs are not consulted",
    "UDP services: the default port list holds TCP ports only",
    "Host internals: installed packages, patches and configuration are judged only from "
    "what the host's services announce (banners, HTTP headers), never from a login",
    "Web application flaws: no injection, cross-site scripting or access-control testing "
    "beyond the listed exposures",
    "Other data stores: only PostgreSQL, MySQL/MariaDB, Redis, Memcached, MongoDB and "
    "Elasticsearch are logged in to; others reachable from the network are findings, unread",
)


def untested_names(not_tested: Iterable[str]) -> list[str]:
    """What is never tested, by name only (`STARTTLS`, `certificate revocation`)."""
    names = []
    for text in not_tested:
        name = text.split(":", 1)[0]
        # Lower case in a sentence, but not an acronym (SSLv3, TLS, UDP).
        names.append(name[0].lower() + name[1:] if name[1:2].islower() else name)
    return names


# -- the kinds of check ------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One kind of check: what it looks for, where it ran, what it found."""

    label: str
    looks_for: str
    host_wide: bool
    # An observation that shows the check ran (on its port, or on the host).
    ran: Callable[[Observation], bool]
    # A finding this check made.
    finds: Callable[[Finding], bool]
    # What an observation says about a check that did not finish ("" if nothing).
    unfinished: Callable[[Observation], str]
    # The probes (`ProbeError.stage` after `probe:`) whose errors are this check's.
    probes: Callable[[str], bool] = lambda _name: False
    # A finding that says the check could not tell (informational, no weakness).
    undecided: Callable[[Finding], bool] = lambda _finding: False


_VERSION_CATEGORIES = frozenset({"vulnerability", "end-of-life", "outdated-software"})
_STORE_PROBES = frozenset({"postgresql", "mysql", "redis", "memcached", "mongodb", "elasticsearch"})


def _never(_obs: Observation) -> str:
    return ""


def _said(what: str, evidence: str) -> str:
    return f"{what}: {evidence}" if evidence else what


def _tls_unfinished(obs: Observation) -> str:
    if obs.key == "tls.handshake" and obs.value == "failed":
        return _said("handshake failed", obs.evidence)
    return ""


def _web_unfinished(obs: Observation) -> str:
    if obs.key == "http.incomplete":
        return _said("held its answer back", obs.evidence)
    if obs.key == "http.error":
        return _said(obs.value, obs.evidence)
    return ""


def _store_unfinished(obs: Observation) -> str:
    if obs.key == "store.auth" and obs.value == "unknown":
        return _said("the login could not be judged", obs.evidence)
    if obs.key == "store.gap":
        return _said("not all of it could be read", obs.evidence)
    return ""


def _posture_unfinished(obs: Observation) -> str:
    if obs.key == "firewall.posture" and obs.value == "nothing-probed":
        return "no closed port was probed: nothing to tell a filter by"
    return ""


CHECKS: Mapping[str, Check] = MappingProxyType(
    {
        "versions": Check(
            "Versions",
            "known vulnerabilities (CVEs), end of life and outdated releases of the "
            "software a banner or an HTTP header names",
            host_wide=False,
            ran=lambda o: o.key in ("http.server_header", "http.powered_by"),
            finds=lambda f: f.category in _VERSION_CATEGORIES and f.port is not None,
            unfinished=_never,
        ),
        "exposure": Check(
            "Exposure",
            "data stores, Telnet, RDP, VNC, SNMP, SSH and administration interfaces "
            "reachable from the network",
            host_wide=False,
            ran=lambda _o: False,  # the rules look at every service
            finds=lambda f: f.rule_id.endswith("-reachable"),
            unfinished=_never,
        ),
        "tls": Check(
            "TLS",
            "TLS 1.0 and 1.1, certificate expiry, trust, host name, key size and SHA-1 signatures",
            host_wide=False,
            ran=lambda o: o.key.startswith("tls."),
            finds=lambda f: f.rule_id.startswith("tls-"),
            unfinished=_tls_unfinished,
            probes=lambda name: name == "tls",
        ),
        "web": Check(
            "Web",
            "plaintext logins, HSTS, cookie flags, status pages, directory listings, .git, "
            ".env, phpinfo and dumps of personal data",
            host_wide=False,
            ran=lambda o: o.key.startswith("http."),
            finds=lambda f: f.rule_id.startswith("web-"),
            unfinished=_web_unfinished,
            probes=lambda name: name == "http",
        ),
        "datastores": Check(
            "Data stores",
            "logins without a password or with a vendor default, encryption in transit, "
            "personal data and how passwords and card numbers are stored",
            host_wide=False,
            ran=lambda o: o.key.startswith("store."),
            finds=lambda f: (
                f.rule_id.startswith("datastore-") and not f.rule_id.endswith("-reachable")
            ),
            unfinished=_store_unfinished,
            probes=lambda name: name in _STORE_PROBES,
        ),
        "packet-filter": Check(
            "Packet filter",
            "whether a packet filter stands in front of the host, from how its closed ports "
            "answered",
            host_wide=True,
            ran=lambda o: o.key in ("firewall.posture", "firewall.ack"),
            finds=lambda f: f.rule_id.startswith(("host-packet-filter-", "host-no-packet-filter")),
            unfinished=_posture_unfinished,
            undecided=lambda f: f.rule_id == "host-packet-filter-undetermined",
        ),
        "distribution": Check(
            "Distribution",
            "whether the host's distribution release is still patched",
            host_wide=True,
            ran=lambda o: o.key == "host.distribution_support",
            finds=lambda f: f.rule_id.startswith("distribution-release-"),
            unfinished=_never,
        ),
        "local": Check(
            "This machine",
            "its own firewall rules and policy, and data stores listening beyond loopback",
            host_wide=True,
            ran=lambda o: o.key.startswith("local."),
            finds=lambda f: f.rule_id.startswith("local-"),
            unfinished=_never,
        ),
    }
)


def _weak(finding: Finding) -> bool:
    return finding.severity.rank >= Severity.LOW.rank


def _short(text: str, limit: int = _NOTE_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "\u2026"


def _probe_name(error: ProbeError) -> str:
    return error.stage.removeprefix("probe:") if error.stage.startswith("probe:") else ""


@dataclass(frozen=True)
class _HostFacts:
    host: Host
    observations: tuple[Observation, ...]
    findings: tuple[Finding, ...]
    errors: tuple[ProbeError, ...]


def _service_ports(facts: _HostFacts, key: str, check: Check) -> list[int]:
    ports = {o.port for o in facts.observations if o.port is not None and check.ran(o)}
    ports |= {e.port for e in facts.errors if e.port is not None and check.probes(_probe_name(e))}
    services = facts.host.services
    if key == "versions":
        ports |= {s.port for s in services if s.product and s.version}
    elif key == "exposure":
        ports |= {s.port for s in services}
    return sorted(ports)


def _service_check(facts: _HostFacts, key: str, check: Check) -> CheckRun | None:
    ports = _service_ports(facts, key, check)
    if not ports:
        return None
    weak = {f.port for f in facts.findings if f.port in ports and check.finds(f) and _weak(f)}
    notes: list[str] = []
    unfinished: set[int] = set()
    for obs in facts.observations:
        said = check.unfinished(obs) if obs.port in ports else ""
        if said and obs.port is not None:
            unfinished.add(obs.port)
            notes.append(f"port {obs.port}: {_short(said)}")
    for error in facts.errors:
        if error.port in ports and check.probes(_probe_name(error)) and error.port is not None:
            unfinished.add(error.port)
            notes.append(f"port {error.port}: {_probe_name(error)} probe {error.reason}")
    return CheckRun(
        check=key,
        checked=len(ports),
        weak=len(weak),
        incomplete=len(unfinished - weak),
        ports=tuple(ports),
        notes=tuple(dict.fromkeys(notes))[:_NOTES],
    )


def _host_check(facts: _HostFacts, key: str, check: Check) -> CheckRun | None:
    seen = [o for o in facts.observations if o.port is None and check.ran(o)]
    if not seen:
        return None
    weak = any(f.port is None and check.finds(f) and _weak(f) for f in facts.findings)
    unfinished = [said for o in seen if (said := check.unfinished(o))]
    unfinished += [f.title for f in facts.findings if f.port is None and check.undecided(f)]
    notes = [f"{o.key.split('.', 1)[-1].replace('_', ' ')}: {o.value}" for o in seen]
    return CheckRun(
        check=key,
        checked=1,
        weak=int(weak),
        incomplete=int(bool(unfinished) and not weak),
        notes=tuple(dict.fromkeys([*notes, *unfinished]))[:_NOTES],
    )


def _host_checks(facts: _HostFacts) -> tuple[CheckRun, ...]:
    runs = []
    for key, check in CHECKS.items():
        run = (
            _host_check(facts, key, check) if check.host_wide else _service_check(facts, key, check)
        )
        if run is not None:
            runs.append(run)
    return tuple(runs)


# -- gaps: the probe errors by kind ---------------------------------------------------


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


def gap_kind(error: ProbeError) -> str:
    """What kind of gap a probe error is, in words ("probe(s) ran out of time")."""
    return next((name for test, name in _KINDS if test(error)), "other part(s) did not complete")


def error_where(error: ProbeError) -> str:
    target = f"{error.target}:{error.port}" if error.port is not None else error.target
    if error.stage.startswith("probe:"):
        return f"{_probe_name(error)} on {target}"
    return target


def error_example(error: ProbeError, limit: int = _EXAMPLE_CHARS) -> str:
    said = error.message if error.message != error.reason else ""
    return _short(f"{error_where(error)} ({error.reason})" + (f": {said}" if said else ""), limit)


def gaps(errors: Iterable[ProbeError]) -> tuple[GapCount, ...]:
    by_kind: dict[str, list[ProbeError]] = {}
    for error in errors:
        by_kind.setdefault(gap_kind(error), []).append(error)
    return tuple(
        GapCount(kind, len(found), tuple(error_example(e) for e in found[:EXAMPLES]))
        for kind, found in by_kind.items()
    )


_TIMEOUTS = frozenset({"timeout", "TimeBudget", "connect-timeout"})


def _timed_out(result: ScanResult) -> tuple[str, ...]:
    """What ran out of time or was held back: nmap batches, probes, tarpits."""
    found: list[str] = []
    for error in result.probe_errors:
        if error.reason in _TIMEOUTS:
            what = (
                "its targets were not scanned" if error.stage == "discovery" else "ran out of time"
            )
            found.append(f"{error_where(error)}: {what}")
    for obs in result.observations:
        if obs.key == "http.incomplete":
            found.append(
                f"web on {obs.host}:{obs.port}: held its answer back ({_short(obs.evidence, 120)})"
            )
        elif obs.key == "http.error" and obs.value in _TIMEOUTS:
            found.append(f"web on {obs.host}:{obs.port}: {obs.value}")
    return tuple(dict.fromkeys(found))


# -- ports -------------------------------------------------------------------------------

_LISTED = re.compile(r"([a-z]+) ([0-9][0-9,-]*)")
_COUNTED = re.compile(r"([0-9]+) ([a-z]+) ports")
# The port choice in words: `-p 1-1024,8080 (given)`, or `...: 1,019 TCP ports`.
_GIVEN = re.compile(r"^-p ([0-9][0-9,-]*) \(given\)")
_CHOSEN = re.compile(r": ([0-9][0-9,]*) TCP ports?$")


def scanned_counts(probed: str) -> dict[str, int]:
    """Ports per protocol in nmap's probed ports (`tcp 22,80,8080`, or
    `1000 tcp ports (1,3-4,...)` for a long list)."""
    counts: dict[str, int] = {}
    for part in probed.split(";"):
        part = part.strip()
        if listed := _LISTED.fullmatch(part):
            total = 0
            for item in listed[2].split(","):
                low, _, high = item.partition("-")
                if low.isdigit() and (high or low).isdigit():
                    total += int(high or low) - int(low) + 1
            counts[listed[1]] = counts.get(listed[1], 0) + total
        elif counted := _COUNTED.match(part):
            counts[counted[2]] = counts.get(counted[2], 0) + int(counted[1])
    return counts


def _ports(result: ScanResult) -> tuple[str, str]:
    """Which ports were scanned and how they were chosen; which were not."""
    probed = list(dict.fromkeys(h.probed_ports for h in result.hosts if h.probed_ports))
    imported = result.nmap.source != "nmap"
    if result.port_choice:
        ports = result.port_choice
    elif probed:
        how = "as the imported nmap XML records them" if imported else "as nmap recorded them"
        ports = f"{'; '.join(probed)} ({how})"
    elif result.hosts and all(h.status == "local" for h in result.hosts):
        return (
            "none over the network: this machine's listening sockets were read from inside",
            "every port, from the network",
        )
    elif result.nmap.commands:
        ports = "as the nmap command line chose them: " + "; ".join(result.nmap.commands)
    else:
        return "not recorded", "not known"
    counts: dict[str, int] = {}
    for text in probed:
        for protocol, count in scanned_counts(text).items():
            counts[protocol] = max(counts.get(protocol, 0), count)
    if not counts and (given := _GIVEN.match(result.port_choice)):
        counts = scanned_counts(f"tcp {given[1]}")
    elif not counts and (chosen := _CHOSEN.search(result.port_choice)):
        counts = {"tcp": int(chosen[1].replace(",", ""))}
    tcp = counts.get("tcp")
    rest = [
        f"the other {TCP_PORTS - tcp:,} TCP ports" if tcp is not None else "TCP ports not listed"
    ]
    rest.append("UDP ports beyond those listed" if "udp" in counts else "every UDP port")
    return ports, " and ".join(rest)


# -- fixed by the distribution ------------------------------------------------------------------


def _fixed(findings: Iterable[Finding]) -> tuple[FixedGroup, ...]:
    groups = []
    for finding in findings:
        fixed = finding.fixed_by_distribution
        if not fixed:
            continue
        evidence = tuple(dict.fromkeys(v.backport_evidence for v in fixed if v.backport_evidence))
        groups.append(
            FixedGroup(
                host=finding.host,
                port=finding.port,
                product=finding.subject or finding.service,
                cves=tuple(v.id for v in fixed),
                entirely=not finding.vulnerabilities,
                evidence=evidence[:EXAMPLES],
            )
        )
    return tuple(sorted(groups, key=lambda g: (address_key(g.host), g.port or 0, g.product)))


# -- the whole ----------------------------------------------------------------------------------


def coverage_of(
    result: ScanResult, records: Sequence[RecordCount] = (), progress: Progress = QUIET
) -> Coverage:
    """What `result` covered and did not (see the module docstring);
    `records` are the record counts the assessment made. `progress` hears of
    the hosts done."""
    observations: dict[str, list[Observation]] = {}
    for obs in result.observations:
        observations.setdefault(obs.host, []).append(obs)
    findings: dict[str, list[Finding]] = {}
    for finding in result.findings:
        findings.setdefault(finding.host, []).append(finding)
    errors: dict[str, list[ProbeError]] = {}
    for error in result.probe_errors:
        errors.setdefault(error.target, []).append(error)
    hosts = []
    # Hosts alike are checked alike: one copy of each equal list of checks.
    shared: dict[object, Any] = {}
    ordered = sorted(result.hosts, key=lambda h: address_key(h.address))
    for done, host in enumerate(ordered, start=1):
        facts = _HostFacts(
            host,
            tuple(observations.get(host.address, ())),
            tuple(findings.get(host.address, ())),
            tuple(errors.get(host.address, ())),
        )
        checks = tuple(shared.setdefault(run, run) for run in _host_checks(facts))
        hosts.append(HostCoverage(host.address, shared.setdefault(checks, checks)))
        if done % _STEP == 0:
            progress.step(COVERING, done, len(ordered), "hosts")
    progress.step(COVERING, len(ordered), len(ordered), "hosts")
    del shared, observations, findings
    ports, not_scanned = _ports(result)
    return Coverage(
        ports=ports,
        not_scanned=not_scanned,
        unanswered=result.unanswered,
        timed_out=_timed_out(result),
        silent=tuple(h.address for h in result.hosts if not answered(h)),
        gaps=gaps(result.probe_errors),
        hosts=tuple(hosts),
        fixed_by_distribution=_fixed(result.findings),
        records=tuple(records),
        not_tested=NOT_TESTED,
    )


def within(coverage: Coverage, hosts: Iterable[str]) -> Coverage:
    """The coverage of a part of the scan: its hosts only (the ports, the
    gaps and what is never tested concern the whole scan)."""
    kept = set(hosts)
    return replace(
        coverage,
        silent=tuple(h for h in coverage.silent if h in kept),
        hosts=tuple(h for h in coverage.hosts if h.host in kept),
        fixed_by_distribution=tuple(g for g in coverage.fixed_by_distribution if g.host in kept),
        records=tuple(r for r in coverage.records if r.host in kept),
    )


# -- in words ----------------------------------------------------------------------------------


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def check_text(run: CheckRun) -> str:
    """One check on one host in words: `TLS: 4 services checked, none weak`."""
    check = CHECKS.get(run.check)
    label = check.label if check is not None else run.check
    if check is not None and check.host_wide:
        if run.weak:
            state = "weak"
        elif run.incomplete:
            state = "could not tell"
        else:
            state = "nothing weak"
        return f"{label}: checked, {state}"
    what = f"{_plural(run.checked, 'service')} checked"
    clean = run.checked - run.weak - run.incomplete
    if not run.weak and not run.incomplete:
        return f"{label}: {what}, none weak"
    parts = []
    if run.weak:
        parts.append(f"{run.weak:,} weak")
    if run.incomplete:
        parts.append(f"{run.incomplete:,} not finished")
    if clean:
        parts.append(f"{clean:,} without a finding")
    return f"{label}: {what}: " + ", ".join(parts)


def clean_checks(coverage: Coverage) -> dict[str, tuple[int, int]]:
    """Per kind of check, over every host: (units checked, units clean)."""
    totals: dict[str, tuple[int, int]] = {}
    for host in coverage.hosts:
        for run in host.checks:
            checked, clean = totals.get(run.check, (0, 0))
            totals[run.check] = (
                checked + run.checked,
                clean + run.checked - run.weak - run.incomplete,
            )
    return totals


def checks_line(coverage: Coverage) -> str:
    """Every kind of check over every host, in one line: `TLS 4 of 4 clean; ...`."""
    parts = []
    for key, (checked, clean) in clean_checks(coverage).items():
        check = CHECKS.get(key)
        label = check.label if check is not None else key
        unit = "host" if check is not None and check.host_wide else "service"
        parts.append(f"{label} {clean:,} of {_plural(checked, unit)} clean")
    return "; ".join(parts)


def by_key(coverage: Coverage) -> dict[str, HostCoverage]:
    return {h.host: h for h in coverage.hosts}


def result_coverage(result: ScanResult) -> Coverage:
    """The result's coverage, or, for a result of an older version, one made now."""
    return result.coverage if result.coverage is not None else coverage_of(result)
