"""Rules, and the engine that turns services and observations into findings."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scanner.backports import ShippedVersions, attribute, builtin_shipped, host_distribution
from scanner.conditions import Condition, MatchContext, Verdict
from scanner.findings import fingerprint as fingerprint
from scanner.findings import grouped_finding, rule_finding
from scanner.model import (
    Confidence,
    Finding,
    Host,
    Observation,
    Severity,
    TrustImpact,
    Vulnerability,
)
from scanner.products import identify_all


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    confidence: Confidence
    category: str
    match: Condition
    description: str
    remediation: str
    references: tuple[str, ...]
    trust: TrustImpact
    data_as_of: str = ""
    source: str = ""
    vulnerability: Vulnerability | None = None


def evaluate(
    hosts: Iterable[Host],
    observations: Iterable[Observation],
    rules: Sequence[Rule],
    shipped: ShippedVersions | None = None,
) -> tuple[Finding, ...]:
    """Match every rule against every product of every service.

    One finding per rule and port, except known vulnerabilities: those of one
    product on one port become a single finding that lists them all.
    """
    by_port: dict[tuple[str, int | None], list[Observation]] = {}
    for obs in observations:
        by_port.setdefault((obs.host, obs.port), []).append(obs)
    distributions = shipped if shipped is not None else builtin_shipped()
    findings: list[Finding] = []
    for host in hosts:
        host_distro = host_distribution(host)
        for service in host.services:
            seen = tuple(by_port.get((host.address, service.port), ()))
            for named in identify_all(service):
                product = attribute(named, host_distro, distributions)
                ctx = MatchContext(service=service, product=product, observations=seen)
                vulnerable: list[tuple[Rule, Verdict]] = []
                for rule in rules:
                    verdict = rule.match.evaluate(ctx)
                    if not verdict.matched:
                        continue
                    if rule.vulnerability is not None:
                        vulnerable.append((rule, verdict))
                    else:
                        findings.append(rule_finding(rule, host, service, ctx, verdict))
                if vulnerable:
                    findings.append(grouped_finding(vulnerable, host, service, ctx))
    return tuple(sorted(findings, key=finding_order))


def finding_order(finding: Finding) -> tuple[int, tuple[int, int, str], int, str]:
    return (-finding.severity.rank, address_key(finding.host), finding.port or 0, finding.rule_id)


def address_key(address: str) -> tuple[int, int, str]:
    """Sort addresses numerically (127.0.0.9 before 127.0.0.10), names last."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0, address)
    return (ip.version, int(ip), address)
