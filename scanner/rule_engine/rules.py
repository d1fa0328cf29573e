"""Rules, and the engine that turns services and observations into findings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from scanner.banners.products import ProductVersion, identify_all, products_in_header
from scanner.banners.versions import normalise
from scanner.model import (
    Confidence,
    Finding,
    Host,
    Observation,
    Service,
    Severity,
    TrustImpact,
    Vulnerability,
    address_key,
)
from scanner.rule_engine.advisories import AdvisoryData, builtin_advisories
from scanner.rule_engine.backports import (
    Judgement,
    ShippedVersions,
    attribute,
    builtin_shipped,
    host_distribution,
    judge,
)
from scanner.rule_engine.conditions import Condition, MatchContext, Verdict
from scanner.rule_engine.distributions import SupportState, supporting
from scanner.rule_engine.exploited import marked
from scanner.rule_engine.findings import fingerprint as fingerprint
from scanner.rule_engine.findings import grouped_finding, rule_finding
from scanner.rule_engine.sharing import Shared
from scanner.support.progress import QUIET, Progress

# What a host-scope rule's context holds in place of a service: the loader
# lets such rules use host observations only, so these are never looked at.
HOST_PLACEHOLDER = Service(port=0, protocol="", state="host")
NO_PRODUCT = ProductVersion("", normalise(""))


class RuleScope(str, Enum):
    SERVICE = "service"
    HOST = "host"


@dataclass(frozen=True)
class Escalation:
    """A condition under which a rule's finding is more severe, and why."""

    when: Condition
    severity: Severity
    because: str


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
    scope: RuleScope = RuleScope.SERVICE
    escalations: tuple[Escalation, ...] = ()


def evaluate(
    hosts: Iterable[Host],
    observations: Iterable[Observation],
    rules: Sequence[Rule],
    shipped: ShippedVersions | None = None,
    progress: Progress = QUIET,
    advisories: AdvisoryData | None = None,
) -> tuple[Finding, ...]:
    """Match every rule against every product of every service.

    One finding per rule and port, except known vulnerabilities: those of one
    product on one port become a single finding that lists them all, each
    weighed against the distribution's advisories when the service is a
    distribution's package (`advisories`, default the built-in data).
    """
    by_port: dict[tuple[str, int | None], list[Observation]] = {}
    for obs in observations:
        by_port.setdefault((obs.host, obs.port), []).append(obs)
    distributions = shipped if shipped is not None else builtin_shipped()
    advisory_data = advisories if advisories is not None else builtin_advisories()
    service_rules = [r for r in rules if r.scope is RuleScope.SERVICE]
    host_rules = [r for r in rules if r.scope is RuleScope.HOST]
    findings: list[Finding] = []
    # One copy of what findings repeat from host to host (see `sharing`).
    share = Shared()
    hosts = tuple(hosts)
    for done, host in enumerate(hosts, start=1):
        progress.step("evaluating rules", done, len(hosts), "hosts")
        host_distro = host_distribution(host)
        on_host = tuple(by_port.get((host.address, None), ()))
        if host_rules:
            ctx = MatchContext(HOST_PLACEHOLDER, NO_PRODUCT, (), on_host)
            for rule in host_rules:
                verdict = rule.match.evaluate(ctx)
                if verdict.matched:
                    findings.append(rule_finding(rule, host, None, ctx, verdict, share))
        for service in host.services:
            seen = tuple(by_port.get((host.address, service.port), ()))
            for named in _products(service, seen):
                product = attribute(named, host_distro, distributions)
                ctx = MatchContext(
                    service=service, product=product, observations=seen, host_observations=on_host
                )
                vulnerable: list[tuple[Rule, Verdict]] = []
                for rule in service_rules:
                    verdict = rule.match.evaluate(ctx)
                    if not verdict.matched:
                        continue
                    if rule.vulnerability is not None:
                        vulnerable.append((rule, verdict))
                    else:
                        found = rule_finding(rule, host, service, ctx, verdict, share)
                        findings.append(_release_supported(found, ctx, share))
                if vulnerable:
                    judged = _judged(vulnerable, ctx, advisory_data, share)
                    grouped = grouped_finding(vulnerable, host, service, ctx, judged, share)
                    if grouped is not None:  # None: the distribution fixed every CVE
                        # A CVE on CISA's KEV list: said, and the finding at least high.
                        findings.append(marked(grouped, share))
    return tuple(sorted(_one_per_fingerprint(findings), key=finding_order))


def _judged(
    vulnerable: Sequence[tuple[Rule, Verdict]],
    ctx: MatchContext,
    data: AdvisoryData,
    share: Shared,
) -> dict[str, Judgement]:
    """The distribution's verdict on each CVE, for a distribution's package:
    judged once per package and CVE list, which every host with the same
    banner repeats."""
    cves = tuple(rule.vulnerability.id for rule, _ in vulnerable if rule.vulnerability is not None)
    # nmap's extra info belongs to the service's own product, not to a component
    # its banner names (`OpenSSL/1.0.2k` beside Apache).
    own = ctx.product.label == ctx.service.product
    extrainfo = ctx.service.extrainfo if own else ""
    return share.computed(
        ("judge", ctx.product, cves, extrainfo),
        lambda: judge(ctx.product, cves, data, extrainfo),
    )


def _release_supported(finding: Finding, ctx: MatchContext, share: Shared) -> Finding:
    """An upstream end of life is no emergency while the host's distribution
    release ships this version and still patches it (Debian 12's nginx 1.22.1):
    then it is a low finding that says so, and until when. A release past all
    support keeps the finding, and is a finding of its own."""
    if finding.category != "end-of-life" or ctx.product.version.distro is None:
        return finding
    known = supporting(ctx.host_observations)
    if known is None:
        return finding
    release, state, evidence = known
    patched = state in (SupportState.SUPPORTED, SupportState.EXTENDED)
    if not patched or not release.startswith(ctx.product.version.distro.split(" ")[0]):
        return finding
    return replace(
        finding,
        severity=min(finding.severity, Severity.LOW, key=lambda s: s.rank),
        title=share(f"{finding.title}, but {release} still patches its package"),
        evidence=share.strings((*finding.evidence, f"distribution support: {evidence}")),
        notes=share.strings(
            (
                *finding.notes,
                f"Upstream ended this branch, but {release} ships this version and still "
                "fixes it in its own package: keep the package updated, and plan the move "
                "to a newer release before the distribution's support ends.",
            )
        ),
    )


def _one_per_fingerprint(findings: Iterable[Finding]) -> list[Finding]:
    """A rule that does not look at the product matches once for every product
    a banner names (`Apache/2.4 OpenSSL/1.0 PHP/5.3`): the same finding, with
    the same fingerprint. Keep one, the most severe and most certain."""
    kept: dict[str, Finding] = {}
    for finding in findings:
        held = kept.get(finding.fingerprint)
        if held is None or _weight(finding) > _weight(held):
            kept[finding.fingerprint] = finding
    return list(kept.values())


def _weight(finding: Finding) -> tuple[int, int]:
    return (finding.severity.rank, finding.confidence.rank)


# Observations whose value is an HTTP header that names software: what a web
# server tells in its headers is checked like what nmap read from its banner.
HEADER_OBSERVATIONS = ("http.server_header", "http.powered_by")


def _products(service: Service, seen: Sequence[Observation]) -> list[ProductVersion]:
    found = list(identify_all(service))
    known = {p.product for p in found if p.product}
    for obs in seen:
        if obs.key not in HEADER_OBSERVATIONS:
            continue
        for named in products_in_header(obs.value):
            if named.product not in known:
                known.add(named.product)
                found.append(named)
    return found


def finding_order(finding: Finding) -> tuple[int, tuple[int, int, str], int, str]:
    return (-finding.severity.rank, address_key(finding.host), finding.port or 0, finding.rule_id)
