"""Build findings from matched rules: one per rule, or one per product's CVEs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from scanner.banners.versions import BannerVersion
from scanner.model import Confidence, Finding, Host, Service, Severity, Vulnerability
from scanner.rule_engine.conditions import MatchContext, Verdict

if TYPE_CHECKING:
    from scanner.rule_engine.rules import Rule


def fingerprint(rule_id: str, host: str, protocol: str, port: int | None) -> str:
    """Stable across scans: the same weakness on the same port keeps its id."""
    key = f"v1|{rule_id}|{host}|{protocol}|{port if port is not None else '-'}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _backport_note(version: BannerVersion) -> str:
    if version.distro_reason:
        origin = (
            f"The banner does not name a distribution, but {version.distro_reason}: "
            f"if this is {version.distro}'s package, it"
        )
    else:
        origin = f"The version comes from a {version.distro} package, which"
    return (
        f"{origin} may carry backported security fixes without changing the version: "
        "confirm against the package's changelog before acting."
    )


def service_evidence(service: Service) -> str:
    tunnel = f" over {service.tunnel}" if service.tunnel else ""
    banner = service.banner or "no product identified"
    return f"nmap: {service.port}/{service.protocol} {service.name or 'unknown'}{tunnel}: {banner}"


def confidence_and_notes(
    rule: Rule, ctx: MatchContext, used_version: bool
) -> tuple[Confidence, list[str]]:
    """A version from a distribution build may have the fix backported: say so."""
    confidence = rule.confidence
    notes: list[str] = []
    if used_version and ctx.product.version.distro:
        confidence = Confidence.LOW
        notes.append(_backport_note(ctx.product.version))
    if rule.data_as_of:
        notes.append(f"The rule's release data is as of {rule.data_as_of}.")
    return confidence, notes


def escalate(rule: Rule, ctx: MatchContext) -> tuple[Severity, list[str], list[str]]:
    """The rule's severity, raised by the highest of its escalations that holds.

    Returns the severity, the notes saying why, and the escalation's evidence.
    """
    severity = rule.severity
    notes: list[str] = []
    evidence: list[str] = []
    for escalation in rule.escalations:
        verdict = escalation.when.evaluate(ctx)
        if verdict.matched and escalation.severity.rank > severity.rank:
            severity = escalation.severity
            notes = [
                f"Severity raised from {rule.severity.value} to {severity.value}: "
                f"{escalation.because}"
            ]
            evidence = list(verdict.evidence)
    return severity, notes, evidence


def rule_finding(
    rule: Rule, host: Host, service: Service | None, ctx: MatchContext, verdict: Verdict
) -> Finding:
    """One rule's finding on one service, or on the host as a whole (its packet
    filter, its firewall) when `service` is None."""
    confidence, notes = confidence_and_notes(rule, ctx, verdict.used_version)
    severity, raised, more = escalate(rule, ctx)
    seen = (service_evidence(service),) if service is not None else ()
    port, protocol, name = (
        (service.port, service.protocol, service.name) if service is not None else (None, "", "")
    )
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        severity=severity,
        confidence=confidence,
        host=host.address,
        port=port,
        protocol=protocol,
        service=name,
        evidence=tuple(dict.fromkeys((*seen, *verdict.evidence, *more))),
        description=rule.description,
        remediation=rule.remediation,
        trust=rule.trust,
        fingerprint=fingerprint(rule.id, host.address, protocol, port),
        category=rule.category,
        references=rule.references,
        notes=(*raised, *notes),
    )


def _fixed_target(vulns: Sequence[Vulnerability], ctx: MatchContext) -> str:
    """The lowest upgrade that fixes every listed vulnerability on this branch."""
    running = ctx.product.version.version
    candidates: list[Version] = []
    for vuln in vulns:
        versions = []
        for text in vuln.fixed_in:
            try:
                versions.append(Version(text))
            except InvalidVersion:
                continue
        same_branch = [v for v in versions if running and v.release[:2] == running.release[:2]]
        pool = same_branch or versions
        if pool:
            candidates.append(min(pool))
    return str(max(candidates)) if candidates else ""


def grouped_finding(
    matched: Sequence[tuple[Rule, Verdict]], host: Host, service: Service, ctx: MatchContext
) -> Finding:
    """All known vulnerabilities of one product on one port, as one finding."""
    vulns = sorted(
        (rule.vulnerability for rule, _ in matched if rule.vulnerability is not None),
        key=lambda v: (-v.severity.rank, -(v.cvss_score or 0.0), v.id),
    )
    worst_rule = max((rule for rule, _ in matched), key=lambda r: r.severity.rank)
    used_version = any(verdict.used_version for _, verdict in matched)
    _, notes = confidence_and_notes(worst_rule, ctx, used_version)
    # The least certain rule sets the group's confidence (a distribution build
    # lowers every rule alike).
    least_sure = min((rule for rule, _ in matched), key=lambda r: r.confidence.rank)
    confidence, _ = confidence_and_notes(least_sure, ctx, used_version)
    label = ctx.product.label or service.product or ctx.product.product
    version = ctx.product.version.raw
    count = len(vulns)
    noun = "vulnerability" if count == 1 else "vulnerabilities"
    top = vulns[0]
    scored = f", CVSS {top.cvss_score:g}" if top.cvss_score is not None else ""
    fixed = _fixed_target(vulns, ctx)
    upgrade = f"{label.split('/')[0]} {fixed} or later" if fixed else "a fixed release"
    rule_id = f"{ctx.product.product}-known-vulnerabilities"
    version_evidence = next(
        (e for _, v in matched for e in v.evidence if e.startswith("version:")), ""
    )
    return Finding(
        rule_id=rule_id,
        title=f"{label} {version} has {count} known {noun} "
        f"(worst: {top.id}, {top.severity.value}{scored})",
        severity=top.severity,
        confidence=confidence,
        host=host.address,
        port=service.port,
        protocol=service.protocol,
        service=service.name,
        evidence=tuple(
            e
            for e in (
                service_evidence(service),
                version_evidence,
                "affected by: " + ", ".join(v.id for v in vulns),
            )
            if e
        ),
        description=(
            f"The version this service reports is one that published advisories list as "
            f"affected by {count} known {noun}. Attackers scan for exactly these versions; "
            "public exploits exist for many of them."
        ),
        remediation=(
            f"Upgrade to {upgrade}, which fixes every vulnerability listed here "
            "(or to your distribution's package that carries the fixes)."
        ),
        trust=worst_rule.trust,
        fingerprint=fingerprint(rule_id, host.address, service.protocol, service.port),
        category="vulnerability",
        references=tuple(dict.fromkeys(r for v in vulns for r in v.references))[:10],
        notes=tuple(notes),
        vulnerabilities=tuple(vulns),
    )
