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

The remediation plan ranks findings by score (highest first) and groups
those on the same host with the same remediation text into one step.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scanner.inventory import Asset, Inventory
from scanner.model import (
    Assessment,
    Confidence,
    Finding,
    FindingRisk,
    HostRisk,
    Observation,
    ScanResult,
    Severity,
)

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


def assess(result: ScanResult, inventory: Inventory | None = None) -> Assessment:
    """Score every finding and host of a result, highest risk first."""
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
    return Assessment(
        findings=tuple(
            r for _f, r in sorted(scored, key=lambda p: (-p[1].score, p[0].host, p[1].fingerprint))
        ),
        hosts=tuple(sorted(host_risks, key=lambda h: (-h.score, h.host))),
        inventory_source=inventory.source if inventory is not None else "",
    )


def assessed(result: ScanResult, inventory: Inventory | None = None) -> ScanResult:
    """The result with its assessment (re)computed."""
    return replace(result, assessment=assess(result, inventory))


@dataclass(frozen=True)
class PlanStep:
    """One remediation on one host and the findings it fixes, highest risk first."""

    host: str
    remediation: str
    score: float
    fingerprints: tuple[str, ...]
    titles: tuple[str, ...]


def remediation_plan(result: ScanResult, assessment: Assessment | None = None) -> list[PlanStep]:
    """Findings by risk (descending), grouped by host and remediation text."""
    assessment = assessment or result.assessment or assess(result)
    by_print = {f.fingerprint: f for f in result.findings}
    steps: dict[tuple[str, str], list[tuple[Finding, float]]] = {}
    for risk in assessment.findings:
        finding = by_print.get(risk.fingerprint)
        if finding is None:
            continue
        steps.setdefault((finding.host, finding.remediation), []).append((finding, risk.score))
    plan = [
        PlanStep(
            host,
            remediation,
            max(score for _f, score in items),
            tuple(f.fingerprint for f, _s in items),
            tuple(f.title for f, _s in items),
        )
        for (host, remediation), items in steps.items()
    ]
    return sorted(plan, key=lambda s: -s.score)  # stable: ties keep risk order
