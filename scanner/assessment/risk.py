"""The assess stage: findings (and an optional inventory) -> risk scores.

The risk model
--------------

Each finding gets a score from 0 to 100::

    risk = severity weight x confidence factor x exposure factor x data factor
    risk = min(100, risk), rounded to one decimal

- severity weight: critical 10, high 7, medium 4, low 1, info 0. The steps
  grow faster than linearly because one critical weakness (an open data
  store, a remotely exploitable server) outweighs several medium ones;
  informational findings never add risk.
- confidence factor: confirmed 1.0, high 0.9, medium 0.7, low 0.5. A finding
  shown by the target's behaviour counts fully; one inferred from a
  distribution banner that may carry backported fixes counts half. It is
  never zero: an uncertain finding is still shown and still ranked.
- exposure factor: 1.5 when the inventory says the host is reachable from
  the internet, else 1.2 when it is a production system, else 1.0 (also when
  there is no inventory). Anyone can reach an exposed host; a production host
  holds the real customers.
- data factor: 1 + log10(1 + records) / 2, where records is the inventory's
  `customer_records` for the host, or else the `store.records` count a
  data-store probe observed on the finding's port. Logarithmic, because a
  breach of a million records is worse than one of a thousand, but not a
  thousand times worse for the business: 0 records gives 1.0, 1,000 gives
  2.5, 1,000,000 gives 4.0.

A host's score is its worst finding plus 10% of the sum of its other
findings, capped at 100: the worst weakness sets the level, many more add a
little (an attacker needs one way in, but more ways in make it likelier).

The remediation plan
--------------------

What attackers use comes first. The plan ranks findings by

1. severity, worst first;
2. within one severity, what attackers use: a CVE on CISA's Known Exploited
   Vulnerabilities catalogue (KEV) on an internet-exposed host, then a KEV
   CVE on any host, then any finding on an internet-exposed host (the
   inventory's `internet_exposed`), then the rest;
3. then the risk score, highest first;

and groups those on the same host with the same remediation text into one
step. A step ranks by its first finding in that order; ties go to the step
that fixes more. Informational findings need no step.

Why severity first, and not the score alone: the score multiplies in the
records at stake, so a high weakness on a host with many records outscores
a critical one on a host with none, and a score-first plan would send the
reader to the data store before the critical, exploited hole in the web
server in front of it, which is the way in. The plan answers "what do I fix
first", and that is the worst weakness, among equals the one attackers are
using or can reach; the records at stake then order what is left (and still
set the host scores and the customer-trust summary). Exploited comes before
exposed because it is evidence of use, not only of opportunity (the order of
the deployer tree of SSVC, CERT/CC's Stakeholder-Specific Vulnerability
Categorization: exploitation first, then system exposure). The price: an
uncertain critical (a distribution build that may carry the fix, low
confidence) now comes before a confirmed high; its finding says to check
the package's changelog first, which is quick. A KEV CVE's finding is at least high anyway
(`scanner.rule_engine.exploited`), so an exploited flaw never waits behind
mediums.

The customer-trust summary (data, customers, duties, cost, notices) is
`scanner.assessment.trust`'s; it is computed here too, so one call assesses a result.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.trust import DEFAULT_COST, CostBasis, customer_trust
from scanner.model import (
    Assessment,
    Confidence,
    Finding,
    FindingRisk,
    HostRisk,
    Observation,
    PlanStep,
    ScanResult,
    Severity,
    address_key,
)
from scanner.rule_engine.findings import rekeyed, system_identity

MAX_SCORE = 100.0
TIMES = "\u00d7"  # the multiplication sign in factor labels
SEVERITY_WEIGHT = {
    Severity.CRITICAL: 10.0,
    Severity.HIGH: 7.0,
    Severity.MEDIUM: 4.0,
    Severity.LOW: 1.0,
    Severity.INFO: 0.0,
}
CONFIDENCE_FACTOR = {
    Confidence.CONFIRMED: 1.0,
    Confidence.HIGH: 0.9,
    Confidence.MEDIUM: 0.7,
    Confidence.LOW: 0.5,
}
INTERNET_EXPOSED_FACTOR = 1.5
PRODUCTION_FACTOR = 1.2
REST_SHARE = 0.1


def data_factor(records: int) -> float:
    return 1.0 + math.log10(1 + max(records, 0)) / 2


def _num(value: float) -> str:
    return f"{value:g}"


def finding_risk(
    finding: Finding, asset: Asset | None = None, observed_records: int | None = None
) -> FindingRisk:
    """Score one finding; `asset` from the inventory, `observed_records` from a probe."""
    weight = SEVERITY_WEIGHT[finding.severity]
    confidence = CONFIDENCE_FACTOR[finding.confidence]
    factors = [
        f"{finding.severity.value} severity {TIMES}{_num(weight)}",
        f"{finding.confidence.value} confidence {TIMES}{_num(confidence)}",
    ]
    exposure = 1.0
    if asset is not None and asset.internet_exposed:
        exposure = INTERNET_EXPOSED_FACTOR
        factors.append(f"internet exposed {TIMES}{_num(exposure)}")
    elif asset is not None and asset.environment == "production":
        exposure = PRODUCTION_FACTOR
        factors.append(f"production {TIMES}{_num(exposure)}")
    records, where = None, ""
    if asset is not None and asset.customer_records is not None:
        records, where = asset.customer_records, "inventory"
    elif observed_records is not None:
        records, where = observed_records, "observed"
    data = 1.0
    if records is not None:
        data = data_factor(records)
        factors.append(f"{records:,} customer records ({where}) {TIMES}{data:.2f}")
    score = round(min(MAX_SCORE, weight * confidence * exposure * data), 1)
    return FindingRisk(finding.fingerprint, score, tuple(factors))


def host_score(scores: Sequence[float]) -> float:
    """The worst score plus 10% of the rest, capped at 100."""
    if not scores:
        return 0.0
    ranked = sorted(scores, reverse=True)
    return round(min(MAX_SCORE, ranked[0] + REST_SHARE * sum(ranked[1:])), 1)


def _observed_records(observations: Sequence[Observation]) -> dict[tuple[str, int | None], int]:
    seen: dict[tuple[str, int | None], int] = {}
    for obs in observations:
        if obs.key != "store.records":
            continue
        try:
            count = int(obs.value)
        except ValueError:
            continue
        key = (obs.host, obs.port)
        seen[key] = max(seen.get(key, 0), count)
    return seen


def assess(
    result: ScanResult, inventory: Inventory | None = None, cost: CostBasis = DEFAULT_COST
) -> Assessment:
    """Score every finding and host of a result, highest risk first; rank the
    remediation plan and summarise what it all means for customers."""
    names: dict[str, tuple[str, ...]] = {h.address: h.hostnames for h in result.hosts}
    assets: dict[str, Asset | None] = {}

    def asset_of(host: str) -> Asset | None:
        if inventory is None:
            return None
        if host not in assets:
            assets[host] = inventory.lookup(host, names.get(host, ()))
        return assets[host]

    records = _observed_records(result.observations)
    scored: list[tuple[Finding, FindingRisk]] = [
        (f, finding_risk(f, asset_of(f.host), records.get((f.host, f.port))))
        for f in result.findings
    ]
    by_host: dict[str, list[float]] = defaultdict(list)
    for finding, risk in scored:
        by_host[finding.host].append(risk.score)
    hosts: list[str] = [h.address for h in result.hosts]
    hosts += [h for h in by_host if h not in hosts]
    host_risks = []
    for host in hosts:
        asset = asset_of(host)
        host_risks.append(
            HostRisk(
                host,
                host_score(by_host.get(host, [])),
                asset.system if asset else "",
                asset.owner if asset else "",
            )
        )
    finding_risks = tuple(
        r for _f, r in sorted(scored, key=lambda p: (-p[1].score, p[0].host, p[1].fingerprint))
    )
    ranked_hosts = tuple(sorted(host_risks, key=lambda h: (-h.score, address_key(h.host))))
    exposed = {host for host in hosts if (asset := asset_of(host)) and asset.internet_exposed}
    return Assessment(
        findings=finding_risks,
        hosts=ranked_hosts,
        inventory_source=inventory.source if inventory is not None else "",
        plan=remediation_plan(result, finding_risks, ranked_hosts, exposed),
        trust=customer_trust(result, inventory, cost),
    )


def assessed(
    result: ScanResult, inventory: Inventory | None = None, cost: CostBasis = DEFAULT_COST
) -> ScanResult:
    """The result with its assessment (re)computed.

    With an inventory, the findings are first keyed by their host's identity
    (`host_identities`), so that a system keeps its findings' fingerprints
    when its address changes; the risk scores, the plan and the customer-trust
    summary are then keyed by those fingerprints."""
    if inventory is not None:
        identity = host_identities(result, inventory)
        result = replace(
            result,
            findings=tuple(rekeyed(f, identity.get(f.host, f.host)) for f in result.findings),
        )
    return replace(result, assessment=assess(result, inventory, cost))


_PATTERN = frozenset("*?[")


def _one_host(asset: Asset) -> bool:
    """Whether the asset stands for one host: an address, a one-address
    network, or a host name that is not a pattern."""
    if asset.address:
        return True
    if asset.cidr:
        try:
            network = ipaddress.ip_network(asset.cidr, strict=False)
        except ValueError:
            return False
        return network.num_addresses == 1
    return bool(asset.hostname) and not _PATTERN & set(asset.hostname)


def host_identities(result: ScanResult, inventory: Inventory) -> dict[str, str]:
    """The hosts keyed by their system, by address (the others by their address).

    The inventory's system name (`system:NAME`) when the asset that matches
    the host stands for that one host: an address, a one-address CIDR or a
    literal host name, and no other asset has the same system name. Else the
    address: a network or a name pattern covers several hosts, whose findings
    would otherwise share fingerprints. The rule depends on the inventory
    alone, never on which hosts a scan reached, so an unchanged lab keys the
    same; and should two hosts of one result still claim one system (two
    addresses answering to one literal name), both keep their addresses."""
    systems = Counter(a.system for a in inventory.assets)
    names: dict[str, tuple[str, ...]] = {h.address: h.hostnames for h in result.hosts}
    for finding in result.findings:
        names.setdefault(finding.host, ())
    claimed: dict[str, str] = {}
    for address, hostnames in names.items():
        asset = inventory.lookup(address, hostnames)
        if asset is not None and systems[asset.system] == 1 and _one_host(asset):
            claimed[address] = system_identity(asset.system)
    shared = Counter(claimed.values())
    return {address: identity for address, identity in claimed.items() if shared[identity] == 1}


def is_exploited(finding: Finding) -> bool:
    """Whether the finding lists a CVE on CISA's KEV catalogue."""
    return any(v.exploited is not None for v in finding.vulnerabilities)


def plan_priority(finding: Finding, score: float, exposed: bool) -> tuple[int, int, int, float]:
    """How urgent a finding is for the plan, higher first (see the module's
    docstring): severity, then exploited, then internet-exposed, then score."""
    return (finding.severity.rank, int(is_exploited(finding)), int(exposed), score)


def remediation_plan(
    result: ScanResult,
    scores: Sequence[FindingRisk],
    hosts: Sequence[HostRisk] = (),
    exposed: Collection[str] = (),
) -> tuple[PlanStep, ...]:
    """Findings by `plan_priority` (highest first), grouped by host and
    remediation text; `exposed` are the hosts the inventory calls internet-exposed.

    One step fixes every finding on one host that shares a remediation (three
    Apache CVEs, one upgrade); steps rank by their most urgent finding, then by
    how many findings they fix. Informational findings need no step."""
    by_print = {f.fingerprint: f for f in result.findings}
    owners = {h.host: h for h in hosts}
    steps: dict[tuple[str, str], list[tuple[Finding, float]]] = {}
    for risk in scores:
        finding = by_print.get(risk.fingerprint)
        if finding is None or finding.severity is Severity.INFO:
            continue
        steps.setdefault((finding.host, finding.remediation), []).append((finding, risk.score))

    def urgency(items: list[tuple[Finding, float]]) -> tuple[int, int, int, float]:
        return max(plan_priority(f, score, f.host in exposed) for f, score in items)

    ranked = sorted(
        steps.items(),
        key=lambda item: (
            tuple(-part for part in urgency(item[1])),
            -len(item[1]),
            address_key(item[0][0]),
        ),
    )
    plan = []
    for rank, ((host, remediation), items) in enumerate(ranked, start=1):
        owner = owners.get(host)
        plan.append(
            PlanStep(
                rank=rank,
                host=host,
                remediation=remediation,
                score=max(score for _f, score in items),
                severity=max((f.severity for f, _s in items), key=lambda s: s.rank),
                fingerprints=tuple(f.fingerprint for f, _s in items),
                titles=tuple(dict.fromkeys(f.title for f, _s in items)),
                system=owner.system if owner else "",
                owner=owner.owner if owner else "",
            )
        )
    return tuple(plan)


@dataclass(frozen=True)
class RiskLevel:
    """What a score means, in the words of the executive summary."""

    name: str
    meaning: str


# The overall level of a score (a host's, or the highest). Calibrated on the
# model above: a confirmed critical weakness alone scores 10, so it is never
# less than "high"; near customer data it climbs to "critical".
RISK_LEVELS: tuple[tuple[float, RiskLevel], ...] = (
    (
        30.0,
        RiskLevel(
            "critical",
            "A weakness an attacker can use stands in front of customer data: 30 is a "
            "confirmed critical weakness on a host holding about 10,000 customer records, or "
            "a high one in front of about a million. Treat it as an incident waiting to "
            "happen: fix or isolate it now.",
        ),
    ),
    (
        10.0,
        RiskLevel(
            "high",
            "A serious weakness: 10 is a confirmed critical weakness on any host (a way in), "
            "or a high one on a host with about 100 customer records. Fix it within days.",
        ),
    ),
    (
        4.0,
        RiskLevel(
            "medium",
            "A confirmed medium weakness, or a more serious one whose evidence is uncertain "
            "(a distribution build that may carry the fix). Fix it in the next maintenance "
            "window.",
        ),
    ),
    (
        0.1,
        RiskLevel(
            "low",
            "Only minor weaknesses. Fix them as part of routine maintenance.",
        ),
    ),
)
NO_RISK = RiskLevel("none", "No finding adds risk: none, or only informational ones.")


def risk_level(score: float) -> RiskLevel:
    """The level of a score (see RISK_LEVELS)."""
    for floor, level in RISK_LEVELS:
        if score >= floor:
            return level
    return NO_RISK
