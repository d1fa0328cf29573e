"""Build findings from matched rules: one per rule, or one per product's CVEs."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from packaging.version import InvalidVersion, Version

from scanner.banners.versions import BannerVersion
from scanner.model import (
    BackportVerdict,
    Confidence,
    Finding,
    Host,
    Service,
    Severity,
    Vulnerability,
)
from scanner.rule_engine.advisories import debian_version
from scanner.rule_engine.backports import Judgement
from scanner.rule_engine.conditions import MatchContext, Verdict
from scanner.rule_engine.sharing import Shared

if TYPE_CHECKING:
    from scanner.rule_engine.rules import Rule


def fingerprint(rule_id: str, host: str, protocol: str, port: int | None, subject: str = "") -> str:
    """The one place a finding's fingerprint is made: stable across scans.

    It hashes what the finding is about, never what fixing it changes: the
    rule, the host's identity (the inventory's system name when the inventory
    names the host, else its address: see `scanner.assessment.risk.assessed`),
    the protocol and port, and the subject (the product of a version finding).
    Not the version, the title, the severity or the CVE list: an upgrade that
    leaves a CVE open, or a new CVE published for the same version, is the
    same finding, changed; the baseline comparison keys on this.

    A finding without a subject hashes exactly as before subjects existed, so
    results written then keep their fingerprints as baselines.
    """
    key = f"v1|{rule_id}|{host}|{protocol}|{port if port is not None else '-'}"
    if subject:
        key += f"|{subject}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def system_identity(system: str) -> str:
    """A host's identity when the inventory names its system: apart from any
    address, so that no system name can pass for another host's address."""
    return f"system:{system}"


class Keyed(Protocol):
    """What a fingerprint is made of: a `Finding`, or a finding as the scan
    history recorded it."""

    @property
    def rule_id(self) -> str: ...
    @property
    def protocol(self) -> str: ...
    @property
    def port(self) -> int | None: ...
    @property
    def subject(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...


def keyed_by(finding: Keyed, identity: str) -> bool:
    """Whether the finding's fingerprint was made with this host identity."""
    return finding.fingerprint == fingerprint(
        finding.rule_id, identity, finding.protocol, finding.port, finding.subject
    )


def rekeyed(finding: Finding, identity: str) -> Finding:
    """The finding with its fingerprint made from this host identity."""
    if keyed_by(finding, identity):
        return finding
    return dataclasses.replace(
        finding,
        fingerprint=fingerprint(
            finding.rule_id, identity, finding.protocol, finding.port, finding.subject
        ),
    )


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
    rule: Rule,
    host: Host,
    service: Service | None,
    ctx: MatchContext,
    verdict: Verdict,
    share: Shared | None = None,
) -> Finding:
    """One rule's finding on one service, or on the host as a whole (its packet
    filter, its firewall) when `service` is None. `share`: the evaluation's
    table of values other findings repeat."""
    share = share if share is not None else Shared()
    confidence, notes = confidence_and_notes(rule, ctx, verdict.used_version)
    severity, raised, more = escalate(rule, ctx)
    seen = (service_evidence(service),) if service is not None else ()
    port, protocol, name = (
        (service.port, service.protocol, service.name) if service is not None else (None, "", "")
    )
    # A rule that read the version judged one product of the banner (Apache,
    # or the OpenSSL beside it): that product is what the finding is about.
    subject = ctx.product.product if verdict.used_version else ""
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        severity=severity,
        confidence=confidence,
        host=host.address,
        port=port,
        protocol=protocol,
        service=name,
        evidence=share.strings(tuple(dict.fromkeys((*seen, *verdict.evidence, *more)))),
        description=rule.description,
        remediation=rule.remediation,
        trust=rule.trust,
        fingerprint=fingerprint(rule.id, host.address, protocol, port, subject),
        category=rule.category,
        references=rule.references,
        notes=share.strings((*raised, *notes)),
        subject=subject,
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


def _with_verdicts(
    matched: Sequence[tuple[Rule, Verdict]], judged: Mapping[str, Judgement], share: Shared
) -> list[tuple[Rule, Vulnerability]]:
    """Each rule's vulnerability, with the distribution's verdict on it if any."""
    found = []
    for rule, _ in matched:
        vuln = rule.vulnerability
        if vuln is None:
            continue
        judgement = judged.get(vuln.id)
        if judgement is not None:
            vuln = share.judged(vuln, judgement)
        found.append((rule, vuln))
    return sorted(
        found, key=lambda rv: (-rv[1].severity.rank, -(rv[1].cvss_score or 0.0), rv[1].id)
    )


def _distribution_confidence(
    rules: Sequence[Rule], vulns: Sequence[Vulnerability], judged: Mapping[str, Judgement]
) -> Confidence | None:
    """The confidence the distribution's own data gives, when it settles every CVE
    left: the rules' own when advisories confirm each, at most medium when a
    changelog alone does; None when any is undecided (a backport may hide)."""
    if not judged or any(v.backport is not BackportVerdict.VULNERABLE for v in vulns):
        return None
    confidence = min((rule.confidence for rule in rules), key=lambda c: c.rank)
    if any(judged[v.id].weak for v in vulns) and confidence.rank > Confidence.MEDIUM.rank:
        return Confidence.MEDIUM
    return confidence


def _package_fix(vulns: Sequence[Vulnerability], judged: Mapping[str, Judgement]) -> str:
    """The distribution's package that fixes every CVE listed, and the advisory
    naming it ("1:9.2p1-2+deb12u3 or later, from DSA-5724-1"); empty when a CVE
    has no fixed package (undecided, or still open)."""
    fixes = [judged[v.id] for v in vulns if v.id in judged and judged[v.id].fixed_version]
    versions = [(debian_version(j.fixed_version), j) for j in fixes]
    known = [(v, j) for v, j in versions if v is not None]
    if not known or len(known) < len(vulns):
        return ""
    _, top = max(known, key=lambda vj: vj[0])
    source = f", from {top.advisory}" if top.advisory else ""
    return f"{top.fixed_version} or later{source}"


def _reasons(undecided: Sequence[Vulnerability], shown: int = 3, ids: int = 5) -> str:
    """Why each CVE is undecided, once per reason: a banner without revision
    gives every CVE the same one."""
    by_reason: dict[str, list[str]] = {}
    for vuln in undecided:
        by_reason.setdefault(vuln.backport_evidence, []).append(vuln.id)
    parts = []
    for reason, named in list(by_reason.items())[:shown]:
        more = f" and {len(named) - ids} more" if len(named) > ids else ""
        parts.append(f"{', '.join(named[:ids])}{more}: {reason}")
    rest = sum(len(named) for named in list(by_reason.values())[shown:])
    return "; ".join(parts) + (f"; {rest} more CVEs for other reasons" if rest else "")


def grouped_finding(
    matched: Sequence[tuple[Rule, Verdict]],
    host: Host,
    service: Service,
    ctx: MatchContext,
    judged: Mapping[str, Judgement] | None = None,
    share: Shared | None = None,
) -> Finding | None:
    """All known vulnerabilities of one product on one port, as one finding.

    `judged` holds the distribution's verdict on each CVE when the service is
    a distribution's package (`backports.judge`). A CVE the distribution fixed
    leaves the finding for its `fixed_by_distribution` list; when it fixed
    them all there is no finding (None). Severity, confidence, references and
    the upgrade come from the CVEs that remain. `share`: the evaluation's
    table of values other findings repeat.
    """
    judged = judged or {}
    share = share if share is not None else Shared()
    ruled = _with_verdicts(matched, judged, share)
    fixed = tuple(v for _, v in ruled if v.backport is BackportVerdict.FIXED)
    remaining = [(r, v) for r, v in ruled if v.backport is not BackportVerdict.FIXED]
    if not remaining:
        return None
    vulns = [v for _, v in remaining]
    rules = [r for r, _ in remaining]
    worst_rule = max(rules, key=lambda r: r.severity.rank)
    used_version = any(verdict.used_version for _, verdict in matched)
    _, notes = confidence_and_notes(worst_rule, ctx, used_version)
    # The least certain rule sets the group's confidence (a distribution build
    # lowers every rule alike), unless the distribution's data settles it.
    least_sure = min(rules, key=lambda r: r.confidence.rank)
    confidence, _ = confidence_and_notes(least_sure, ctx, used_version)
    settled = _distribution_confidence(rules, vulns, judged)
    distro = ctx.product.version.distro or "the distribution"
    if settled is not None:
        confidence = settled
        notes = [n for n in notes if n != _backport_note(ctx.product.version)] + [
            f"{distro}'s own advisory data confirms that this package lacks the fix"
            + ("es" if len(vulns) > 1 else "")
            + ": see each vulnerability's evidence."
        ]
    undecided = [v for v in vulns if v.backport is BackportVerdict.UNDECIDED]
    if undecided:
        notes.append(f"Not settled by {distro}'s advisory data: {_reasons(undecided)}.")
    if fixed:
        notes.append(
            f"{distro} fixed {len(fixed)} more known "
            + ("vulnerability" if len(fixed) == 1 else "vulnerabilities")
            + " of this version in this package: "
            + ", ".join(v.id for v in fixed)
            + " (listed as fixed by the distribution)."
        )
    label = ctx.product.label or service.product or ctx.product.product
    version = ctx.product.version.raw
    count = len(vulns)
    noun = "vulnerability" if count == 1 else "vulnerabilities"
    top = vulns[0]
    scored = f", CVSS {top.cvss_score:g}" if top.cvss_score is not None else ""
    fixed_target = _fixed_target(vulns, ctx)
    upgrade = (
        f"{label.split('/')[0]} {fixed_target} or later" if fixed_target else "a fixed release"
    )
    package_fix = _package_fix(vulns, judged)
    remediation = (
        f"Install {distro}'s fixed package ({package_fix}) and restart the service, "
        f"or upgrade to {upgrade}."
        if package_fix
        else f"Upgrade to {upgrade}, which fixes every vulnerability listed here "
        "(or to your distribution's package that carries the fixes)."
    )
    rule_id = f"{ctx.product.product}-known-vulnerabilities"
    # The version evidence of a CVE that remains, not of one the distribution fixed.
    left = {v.id for v in vulns}
    version_evidence = next(
        (
            e
            for rule, v in matched
            if rule.vulnerability is not None and rule.vulnerability.id in left
            for e in v.evidence
            if e.startswith("version:")
        ),
        "",
    )
    verdicts = tuple(
        f"{v.id}: {v.backport_evidence}" for v in vulns if v.backport is BackportVerdict.VULNERABLE
    )
    return Finding(
        rule_id=share(rule_id),
        title=share(
            f"{label} {version} has {count} known {noun} "
            f"(worst: {top.id}, {top.severity.value}{scored})"
        ),
        severity=top.severity,
        confidence=confidence,
        host=host.address,
        port=service.port,
        protocol=service.protocol,
        service=service.name,
        evidence=share.strings(
            tuple(
                e
                for e in (
                    service_evidence(service),
                    version_evidence,
                    "affected by: " + ", ".join(v.id for v in vulns),
                    *verdicts,
                )
                if e
            )
        ),
        description=share(
            f"The version this service reports is one that published advisories list as "
            f"affected by {count} known {noun}. Attackers scan for exactly these versions; "
            "public exploits exist for many of them."
        ),
        remediation=share(remediation),
        trust=worst_rule.trust,
        fingerprint=fingerprint(
            rule_id, host.address, service.protocol, service.port, ctx.product.product
        ),
        category="vulnerability",
        references=share.strings(tuple(dict.fromkeys(r for v in vulns for r in v.references))[:10]),
        notes=share.strings(tuple(notes)),
        vulnerabilities=share.items(tuple(vulns)),
        fixed_by_distribution=share.items(fixed),
        subject=ctx.product.product,
    )
