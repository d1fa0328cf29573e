"""Rules, and the engine that turns services and observations into findings."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scanner.conditions import Condition, MatchContext
from scanner.model import Confidence, Finding, Host, Observation, Service, Severity, TrustImpact
from scanner.products import identify


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


def fingerprint(rule_id: str, host: str, protocol: str, port: int | None) -> str:
    """Stable across scans: the same weakness on the same port keeps its id."""
    key = f"v1|{rule_id}|{host}|{protocol}|{port if port is not None else '-'}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _backport_note(distro: str) -> str:
    return (
        f"The version comes from a {distro} package, which may carry backported "
        "security fixes without changing the version: confirm against the "
        "package's changelog before acting."
    )


def _service_evidence(service: Service) -> str:
    tunnel = f" over {service.tunnel}" if service.tunnel else ""
    banner = service.banner or "no product identified"
    return f"nmap: {service.port}/{service.protocol} {service.name or 'unknown'}{tunnel}: {banner}"


def _finding(
    rule: Rule,
    host: Host,
    service: Service,
    ctx: MatchContext,
    evidence: Sequence[str],
    used_version: bool,
) -> Finding:
    confidence = rule.confidence
    notes: list[str] = []
    version = ctx.product.version
    if used_version and version.distro:
        confidence = Confidence.LOW
        notes.append(_backport_note(version.distro))
    if rule.data_as_of:
        notes.append(f"The rule's release data is as of {rule.data_as_of}.")
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity,
        confidence=confidence,
        host=host.address,
        port=service.port,
        protocol=service.protocol,
        service=service.name,
        evidence=(_service_evidence(service), *evidence),
        description=rule.description,
        remediation=rule.remediation,
        trust=rule.trust,
        fingerprint=fingerprint(rule.id, host.address, service.protocol, service.port),
        category=rule.category,
        references=rule.references,
        notes=tuple(notes),
    )


def evaluate(
    hosts: Iterable[Host], observations: Iterable[Observation], rules: Sequence[Rule]
) -> tuple[Finding, ...]:
    """Match every rule against every service; one finding per rule and port."""
    by_port: dict[tuple[str, int | None], list[Observation]] = {}
    for obs in observations:
        by_port.setdefault((obs.host, obs.port), []).append(obs)
    findings: list[Finding] = []
    for host in hosts:
        for service in host.services:
            ctx = MatchContext(
                service=service,
                product=identify(service),
                observations=tuple(by_port.get((host.address, service.port), ())),
            )
            for rule in rules:
                verdict = rule.match.evaluate(ctx)
                if verdict.matched:
                    findings.append(
                        _finding(rule, host, service, ctx, verdict.evidence, verdict.used_version)
                    )
    return tuple(sorted(findings, key=finding_order))


def finding_order(finding: Finding) -> tuple[int, str, int, str]:
    return (-finding.severity.rank, finding.host, finding.port or 0, finding.rule_id)
