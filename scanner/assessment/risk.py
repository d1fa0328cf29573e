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
  `customer_records` for the host, or else the records counted on the
  finding's port: a store's statistics for what holds personal data, or the
  rows read from a dump (`scanner.assessment.records`, the one count every
  view shows). Logarithmic, because a
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
`scanner.assessment.trust`'s, and the coverage (what was checked, what was
not) `scanner.assessment.coverage`'s; both are computed here too, so one call
assesses a result.

The executive summary explains the overall score in this scan's own numbers
(`explain_score`: the riskiest host's worst finding, its factors multiplied
out, and what its other findings add); the levels' calibration (`RISK_LEVELS`,
"30 is a confirmed critical weakness on ...") is the appendix's.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from scanner.assessment.coverage import coverage_of
from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.records import Key, counts_by_key, record_counts
from scanner.assessment.trust import DEFAULT_COST, CostBasis, customer_trust
from scanner.model import (
    Assessment,
    Confidence,
    Finding,
    FindingRisk,
    HostRisk,
    PlanStep,
    RecordCount,
    ScanResult,
    Severity,
    address_key,
)
from scanner.rule_engine.findings import rekeyed, system_identity
from scanner.support.progress import QUIET, Progress

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
ASSESSING = "assessing risk"
_STEP = 1000  # findings scored between two reports of progress


def data_factor(records: int) -> float:
    return 1.0 + math.log10(1 + max(records, 0)) / 2


def _num(value: float) -> str:
    return f"{value:g}"


def finding_risk(
    finding: Finding,
    asset: Asset | None = None,
    observed_records: int | None = None,
    observed_source: str = "observed",
) -> FindingRisk:
    """Score one finding; `asset` from the inventory, `observed_records` counted
    on the finding's port (`observed_source` says how: `scanner.assessment.records`)."""
    weight = SEVERITY_WEIGHT[finding.severity]
    confidence = CONFIDENCE_FACTOR[finding.confidence]
    exposure, exposed = 1.0, ""
    if asset is not None and asset.internet_exposed:
        exposure, exposed = INTERNET_EXPOSED_FACTOR, "internet exposed"
    elif asset is not None and asset.environment == "production":
        exposure, exposed = PRODUCTION_FACTOR, "production"
    records, where = None, ""
    if asset is not None and asset.customer_records is not None:
        records, where = asset.customer_records, "inventory"
    elif observed_records is not None:
        records, where = observed_records, observed_source
    data = data_factor(records) if records is not None else 1.0
    score = round(min(MAX_SCORE, weight * confidence * exposure * data), 1)
    factors = _factors(finding.severity, finding.confidence, exposed, exposure, records, where)
    return FindingRisk(finding.fingerprint, score, factors)


@lru_cache(maxsize=4096)
def _factors(
    severity: Severity,
    confidence: Confidence,
    exposed: str,
    exposure: float,
    records: int | None,
    where: str,
) -> tuple[str, ...]:
    """A score's factors in words. Cached: a large scan's findings share a
    few combinations, and each combination one tuple of its words."""
    factors = [
        f"{severity.value} severity {TIMES}{_num(SEVERITY_WEIGHT[severity])}",
        f"{confidence.value} confidence {TIMES}{_num(CONFIDENCE_FACTOR[confidence])}",
    ]
    if exposed:
        factors.append(f"{exposed} {TIMES}{_num(exposure)}")
    if records is not None:
        factors.append(f"{records:,} customer records ({where}) {TIMES}{data_factor(records):.2f}")
    return tuple(factors)


def host_score(scores: Sequence[float]) -> float:
    """The worst score plus 10% of the rest, capped at 100."""
    if not scores:
        return 0.0
    ranked = sorted(scores, reverse=True)
    return round(min(MAX_SCORE, ranked[0] + REST_SHARE * sum(ranked[1:])), 1)


def _counted_on_port(counts: dict[Key, RecordCount], finding: Finding) -> RecordCount | None:
    """What was counted on the finding's own port (a store, a dump): a
    host-wide finding takes the inventory's count only, as before."""
    return counts.get((finding.host, finding.port)) if finding.port is not None else None


def assess(
    result: ScanResult,
    inventory: Inventory | None = None,
    cost: CostBasis = DEFAULT_COST,
    counts: tuple[RecordCount, ...] | None = None,
    progress: Progress = QUIET,
) -> Assessment:
    """Score every finding and host of a result, highest risk first; rank the
    remediation plan and summarise what it all means for customers. `counts`:
    the record counts (`scanner.assessment.records.record_counts`), made here
    when not given. `progress` hears of the findings scored."""
    names: dict[str, tuple[str, ...]] = {h.address: h.hostnames for h in result.hosts}
    assets: dict[str, Asset | None] = {}

    def asset_of(host: str) -> Asset | None:
        if inventory is None:
            return None
        if host not in assets:
            assets[host] = inventory.lookup(host, names.get(host, ()))
        return assets[host]

    if counts is None:
        counts = record_counts(result, inventory)
    keyed = counts_by_key(counts)
    findings = result.findings
    risks: list[FindingRisk] = []
    by_host: dict[str, list[float]] = defaultdict(list)
    for done, finding in enumerate(findings, start=1):
        counted = _counted_on_port(keyed, finding)
        risk = finding_risk(
            finding,
            asset_of(finding.host),
            counted.records if counted else None,
            counted.source if counted else "observed",
        )
        risks.append(risk)
        by_host[finding.host].append(risk.score)
        if done % _STEP == 0:
            progress.step(ASSESSING, done, len(findings), "findings")
    progress.step(ASSESSING, len(findings), len(findings), "findings")
    hosts: list[str] = [h.address for h in result.hosts]
    scanned = set(hosts)
    hosts += [h for h in by_host if h not in scanned]
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
    del by_host
    # Positions, not (finding, risk) pairs: one small object less per finding.
    order = sorted(
        range(len(risks)), key=lambda i: (-risks[i].score, findings[i].host, risks[i].fingerprint)
    )
    finding_risks = tuple(risks[i] for i in order)
    del order
    ranked_hosts = tuple(sorted(host_risks, key=lambda h: (-h.score, address_key(h.host))))
    exposed = {host for host in hosts if (asset := asset_of(host)) and asset.internet_exposed}
    return Assessment(
        findings=finding_risks,
        hosts=ranked_hosts,
        inventory_source=inventory.source if inventory is not None else "",
        plan=remediation_plan(result, finding_risks, ranked_hosts, exposed),
        trust=customer_trust(result, inventory, cost, counts),
    )


def assessed(
    result: ScanResult,
    inventory: Inventory | None = None,
    cost: CostBasis = DEFAULT_COST,
    progress: Progress = QUIET,
) -> ScanResult:
    """The result with its assessment (re)computed.

    With an inventory, the findings are first keyed by their host's identity
    (`host_identities`), so that a system keeps its findings' fingerprints
    when its address changes; the risk scores, the plan and the customer-trust
    summary are then keyed by those fingerprints.

    The coverage (`scanner.assessment.coverage`) is made here too, with the
    record counts the assessment used; a part of a scan keeps the coverage
    `selection.narrowed` made before its findings were cut by severity.
    `progress` hears of the findings scored, then of the hosts' coverage."""
    if inventory is not None:
        identity = host_identities(result, inventory)
        result = replace(
            result,
            findings=tuple(rekeyed(f, identity.get(f.host, f.host)) for f in result.findings),
        )
    counts = record_counts(result, inventory)
    coverage = result.coverage
    if coverage is not None and result.selection:
        coverage = replace(coverage, records=counts)
    else:
        coverage = coverage_of(result, counts, progress)
    assessment = assess(result, inventory, cost, counts, progress)
    return replace(result, assessment=assessment, coverage=coverage)


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

    where: dict[str, tuple[int, int, str]] = {}  # a host's address key, made once

    def place(host: str) -> tuple[int, int, str]:
        if host not in where:
            where[host] = address_key(host)
        return where[host]

    ranked = sorted(
        steps.items(),
        key=lambda item: (
            tuple(-part for part in urgency(item[1])),
            -len(item[1]),
            place(item[0][0]),
        ),
    )
    del by_print, steps
    # Steps on many hosts list the same titles: one tuple for each list.
    titled: dict[tuple[str, ...], tuple[str, ...]] = {}
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
                titles=_one(titled, tuple(dict.fromkeys(f.title for f, _s in items))),
                system=owner.system if owner else "",
                owner=owner.owner if owner else "",
            )
        )
    return tuple(plan)


def _one(seen: dict[tuple[str, ...], tuple[str, ...]], value: tuple[str, ...]) -> tuple[str, ...]:
    return seen.setdefault(value, value)


@dataclass(frozen=True)
class RiskLevel:
    """What a score means, in the words of the appendix's table of levels
    (`meaning`, calibrated on example weaknesses), and what to do about it
    (`advice`, which the executive summary adds to the explanation of this
    scan's own score: `explain_score`)."""

    name: str
    meaning: str
    advice: str = ""


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
            "Treat it as an incident waiting to happen: fix or isolate it now.",
        ),
    ),
    (
        10.0,
        RiskLevel(
            "high",
            "A serious weakness: 10 is a confirmed critical weakness on any host (a way in), "
            "or a high one on a host with about 100 customer records. Fix it within days.",
            "Fix it within days.",
        ),
    ),
    (
        4.0,
        RiskLevel(
            "medium",
            "A confirmed medium weakness, or a more serious one whose evidence is uncertain "
            "(a distribution build that may carry the fix). Fix it in the next maintenance "
            "window.",
            "Fix it in the next maintenance window.",
        ),
    ),
    (
        0.1,
        RiskLevel(
            "low",
            "Only minor weaknesses. Fix them as part of routine maintenance.",
            "Fix it as part of routine maintenance.",
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


_TITLE_CHARS = 120


def _factor_words(factors: Sequence[str]) -> list[str]:
    """`critical severity x10` -> `10 for critical severity` (factors are made
    by `finding_risk`, label then multiplier)."""
    words = []
    for factor in factors:
        label, sign, value = factor.rpartition(f" {TIMES}")
        words.append(f"{value} for {label}" if sign else factor)
    return words


def explain_score(result: ScanResult, host: HostRisk) -> str:
    """Why `host` scores what it does, in this scan's own numbers: its worst
    finding's factors multiplied out, and what its other findings add."""
    where = f"{host.system} ({host.host})" if host.system else host.host
    assessment = result.assessment
    own = {f.fingerprint: f for f in result.findings if f.host == host.host}
    risks = [r for r in (assessment.findings if assessment else ()) if r.fingerprint in own]
    risks.sort(key=lambda r: -r.score)
    if not risks or host.score <= 0:
        return f"No finding on {where} adds risk."
    worst = risks[0]
    finding = own[worst.fingerprint]
    title = finding.title
    if len(title) > _TITLE_CHARS:
        title = title[: _TITLE_CHARS - 1] + "\u2026"
    port = f" on port {finding.port}" if finding.port is not None else ""
    product = f" {TIMES} ".join(_factor_words(worst.factors))
    text = (
        f"Your riskiest host, {where}, scores {host.score:.1f} because of its worst "
        f"finding{port}, \u201c{title}\u201d: {product} = {worst.score:.1f}."
    )
    added = round(host.score - worst.score, 1)
    others = sum(1 for r in risks[1:] if r.score > 0)
    if others and added > 0:
        noun = "finding adds" if others == 1 else "findings add"
        text += (
            f" Its {others} other {noun} {added:.1f} "
            f"({REST_SHARE:.0%} of their scores, the total capped at {MAX_SCORE:g})."
        )
    return text
