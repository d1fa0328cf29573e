"""The risk model of `scanner.assessment.risk` on factory-built findings."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scanner import pipeline
from scanner.assessment.inventory import Asset, Inventory, load_inventory
from scanner.assessment.risk import (
    TIMES,
    assess,
    assessed,
    data_factor,
    finding_risk,
    host_score,
    remediation_plan,
    risk_level,
)
from scanner.model import Confidence, Finding, KnownExploited, ScanResult, Severity, Vulnerability
from scanner.rule_engine.loader import load_rules
from scanner.support.resources import builtin_rules_dir
from tests.factories import make_finding, make_host, make_observation, make_result
from tests.scanner.steps import Steps
from tests.support import FIXTURES


def test_severity_times_confidence_without_inventory() -> None:
    risk = finding_risk(make_finding(severity=Severity.MEDIUM, confidence=Confidence.HIGH))
    assert risk.score == 3.6  # 4 x 0.9
    assert risk.factors == (f"medium severity {TIMES}4", f"high confidence {TIMES}0.9")


@pytest.mark.parametrize(
    ("severity", "confidence", "score"),
    [
        (Severity.CRITICAL, Confidence.CONFIRMED, 10.0),
        (Severity.HIGH, Confidence.LOW, 3.5),
        (Severity.LOW, Confidence.MEDIUM, 0.7),
        (Severity.INFO, Confidence.CONFIRMED, 0.0),
    ],
)
def test_the_weights(severity: Severity, confidence: Confidence, score: float) -> None:
    assert finding_risk(make_finding(severity=severity, confidence=confidence)).score == score


def test_internet_exposure_and_inventory_records() -> None:
    asset = Asset("shop", internet_exposed=True, environment="production", customer_records=999)
    finding = make_finding(severity=Severity.CRITICAL, confidence=Confidence.CONFIRMED)
    risk = finding_risk(finding, asset)
    assert risk.score == 37.5  # 10 x 1.0 x 1.5 x (1 + log10(1000) / 2)
    assert f"internet exposed {TIMES}1.5" in risk.factors
    assert f"999 customer records (inventory) {TIMES}2.50" in risk.factors


def test_production_without_exposure() -> None:
    asset = Asset("erp", environment="production")
    risk = finding_risk(make_finding(severity=Severity.HIGH, confidence=Confidence.LOW), asset)
    assert risk.score == 4.2  # 7 x 0.5 x 1.2
    assert f"production {TIMES}1.2" in risk.factors


def test_staging_adds_nothing() -> None:
    risk = finding_risk(make_finding(), Asset("stage", environment="staging"))
    assert risk.score == 3.6


def test_the_data_factor_is_logarithmic() -> None:
    assert data_factor(0) == 1.0
    assert data_factor(999) == pytest.approx(2.5)
    assert data_factor(999_999) == pytest.approx(4.0)


def test_a_finding_is_capped_at_100() -> None:
    asset = Asset("huge", internet_exposed=True, customer_records=10**12)
    risk = finding_risk(
        make_finding(severity=Severity.CRITICAL, confidence=Confidence.CONFIRMED), asset
    )
    assert risk.score == 100.0


def test_a_host_is_its_worst_finding_plus_a_tenth_of_the_rest() -> None:
    assert host_score([]) == 0.0
    assert host_score([20.0, 37.5, 10.0]) == 40.5
    assert host_score([100.0] * 5) == 100.0


def _db_result(records: str = "99") -> tuple[ScanResult, Finding, Finding]:
    host = make_host(address="127.0.0.16", hostnames=("db1.example.test",))
    exposed = make_finding(
        rule_id="postgres-open",
        host="127.0.0.16",
        port=5432,
        service="postgresql",
        severity=Severity.CRITICAL,
        confidence=Confidence.CONFIRMED,
        remediation="Bind PostgreSQL to localhost.",
    )
    ssh = make_finding(
        rule_id="ssh-old",
        host="127.0.0.16",
        port=22,
        service="ssh",
        severity=Severity.MEDIUM,
        confidence=Confidence.HIGH,
        remediation="Update OpenSSH.",
    )
    result = make_result(
        hosts=(host,),
        findings=(ssh, exposed),
        observations=(
            # The store's total counts rows without personal data too: not customer records.
            make_observation(
                host="127.0.0.16", port=5432, probe="datastore", key="store.records", value="5000"
            ),
            make_observation(
                host="127.0.0.16",
                port=5432,
                probe="datastore",
                key="store.pii.email",
                value=records,
            ),
        ),
    )
    return result, exposed, ssh


def test_the_stores_count_of_personal_records_counts_on_its_port() -> None:
    result, exposed, ssh = _db_result()
    assessment = assess(result)
    scores = {r.fingerprint: r for r in assessment.findings}
    assert scores[exposed.fingerprint].score == 20.0  # 10 x (1 + log10(100) / 2)
    factors = scores[exposed.fingerprint].factors
    assert f"99 customer records (store statistics) {TIMES}2.00" in factors
    assert scores[ssh.fingerprint].score == 3.6  # another port: no records
    assert assessment.inventory_source == ""
    assert [(h.host, h.score) for h in assessment.hosts] == [("127.0.0.16", 20.4)]


def test_a_bad_records_value_is_ignored() -> None:
    result, exposed, _ssh = _db_result("unknown")
    scores = {r.fingerprint: r.score for r in assess(result).findings}
    assert scores[exposed.fingerprint] == 10.0


def test_the_inventory_records_win_over_the_observation() -> None:
    result, exposed, ssh = _db_result()
    inventory = Inventory(
        "assets.yaml",
        (Asset("customer-db", hostname="db*.example.test", owner="dba", customer_records=0),),
    )
    assessment = assess(result, inventory)
    scores = {r.fingerprint: r.score for r in assessment.findings}
    assert scores[exposed.fingerprint] == 10.0
    assert scores[ssh.fingerprint] == 3.6
    assert assessment.inventory_source == "assets.yaml"
    assert assessment.hosts[0].system == "customer-db"
    assert assessment.hosts[0].owner == "dba"


def test_findings_and_hosts_are_ranked_by_risk() -> None:
    result = make_result()  # two hosts: .10 (high + medium), .11 (critical + info)
    assessment = assess(result)
    scores = [r.score for r in assessment.findings]
    assert scores == sorted(scores, reverse=True)
    assert scores == [10.0, 3.6, 3.5, 0.0]
    assert [(h.host, h.score) for h in assessment.hosts] == [
        ("127.0.0.11", 10.0),
        ("127.0.0.10", 4.0),  # 3.6 + 10% of 3.5 = 3.95, rounded
    ]


def test_a_host_without_findings_scores_zero() -> None:
    result = make_result(hosts=(make_host(address="127.0.0.99"),), findings=())
    assert [(h.host, h.score) for h in assess(result).hosts] == [("127.0.0.99", 0.0)]


def test_a_host_only_findings_name_is_scored_after_the_scanned_ones() -> None:
    elsewhere = make_finding(host="127.0.0.99", severity=Severity.CRITICAL)
    result = make_result(findings=(*make_result().findings, elsewhere))

    hosts = assess(result).hosts

    assert [h.host for h in hosts] == ["127.0.0.11", "127.0.0.99", "127.0.0.10"]


def test_findings_alike_share_one_tuple_of_factors() -> None:
    one = finding_risk(make_finding(host="10.0.0.1"))
    other = finding_risk(make_finding(host="10.0.0.2", fingerprint="f" * 24))
    assert one.factors is other.factors
    assert finding_risk(make_finding(severity=Severity.LOW)).factors is not one.factors


def test_assessing_says_how_many_findings_it_has_scored() -> None:
    hosts = tuple(make_host(address=f"10.0.{n // 250}.{n % 250 + 1}") for n in range(700))
    findings = tuple(
        make_finding(host=h.address, port=port, fingerprint=f"{i:04d}{port:020d}")
        for i, h in enumerate(hosts)
        for port in (80, 443, 8080)
    )
    steps = Steps()

    result = assessed(make_result(hosts=hosts, findings=findings), progress=steps)

    assert steps.kinds() == ["assessing coverage", "assessing risk"]
    assert steps.of("assessing risk") == [
        (1000, 2100, "findings"),
        (2000, 2100, "findings"),
        (2100, 2100, "findings"),
    ]
    assert steps.of("assessing coverage")[-1] == (700, 700, "hosts")
    assert result == assessed(make_result(hosts=hosts, findings=findings))


def test_the_remediation_plan_groups_by_host_and_text() -> None:
    result = make_result(
        findings=(
            make_finding(port=80, remediation="Update Apache."),
            make_finding(port=443, remediation="Update Apache.", severity=Severity.HIGH),
            make_finding(
                rule_id="redis-open",
                host="127.0.0.11",
                port=6379,
                severity=Severity.CRITICAL,
                confidence=Confidence.CONFIRMED,
                remediation="Require a password.",
            ),
        )
    )
    plan = assess(result).plan
    assert [(s.rank, s.host, s.remediation, s.score) for s in plan] == [
        (1, "127.0.0.11", "Require a password.", 10.0),
        (2, "127.0.0.10", "Update Apache.", 6.3),
    ]
    assert len(plan[1].fingerprints) == 2
    assert plan[1].severity is Severity.HIGH  # the worst of the two it fixes
    assert plan == remediation_plan(result, assess(result).findings)


def test_the_plan_skips_informational_findings_and_breaks_ties_by_findings_fixed() -> None:
    result = make_result(
        findings=(
            make_finding(port=22, rule_id="a", remediation="Close it.", severity=Severity.INFO),
            make_finding(host="127.0.0.11", port=1, rule_id="b", remediation="One."),
            make_finding(host="127.0.0.10", port=2, rule_id="c", remediation="Two."),
            make_finding(host="127.0.0.10", port=3, rule_id="d", remediation="Two."),
        )
    )
    plan = assess(result).plan
    assert [(s.host, s.remediation, len(s.fingerprints)) for s in plan] == [
        ("127.0.0.10", "Two.", 2),
        ("127.0.0.11", "One.", 1),
    ]


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0.0, "none"),
        (0.1, "low"),
        (3.9, "low"),
        (4.0, "medium"),  # a confirmed medium weakness
        (9.9, "medium"),
        (10.0, "high"),  # a confirmed critical weakness, no customer data counted
        (29.9, "high"),
        (30.0, "critical"),  # ... on a host with about 10,000 customer records
        (100.0, "critical"),
    ],
)
def test_risk_levels(score: float, level: str) -> None:
    assert risk_level(score).name == level


def test_a_confirmed_critical_weakness_alone_is_a_high_risk() -> None:
    finding = make_finding(severity=Severity.CRITICAL, confidence=Confidence.CONFIRMED)
    assert risk_level(finding_risk(finding).score).name == "high"


# --- The plan: what attackers use comes first ----------------------------------

TRAVERSAL = KnownExploited("2021-11-03", "2021-11-17", "Known", "2025.08.25")


def _kev_finding(**overrides: Any) -> Finding:
    """Apache 2.4.49's grouped CVEs, CVE-2021-41773 (on CISA's KEV list) first."""
    fields: dict[str, Any] = {
        "rule_id": "apache-httpd-known-vulnerabilities",
        "host": "127.0.0.11",
        "severity": Severity.CRITICAL,
        "confidence": Confidence.HIGH,
        "category": "vulnerability",
        "remediation": "Upgrade to Apache httpd 2.4.51 or later.",
        "vulnerabilities": (
            Vulnerability("CVE-2021-41773", Severity.CRITICAL, exploited=TRAVERSAL),
            Vulnerability("CVE-2021-40438", Severity.CRITICAL),
        ),
    }
    fields.update(overrides)
    return make_finding(**fields)


def _plan(findings: tuple[Finding, ...], *assets: Asset) -> list[tuple[str, str]]:
    result = make_result(hosts=(), findings=findings)
    inventory = Inventory("assets.yaml", assets) if assets else None
    return [(s.host, s.remediation) for s in assess(result, inventory).plan]


def test_a_critical_kev_cve_comes_before_criticals_and_highs_that_score_higher() -> None:
    kev = _kev_finding()
    database = make_finding(
        rule_id="postgres-open",
        host="127.0.0.16",
        port=5432,
        severity=Severity.CRITICAL,
        confidence=Confidence.CONFIRMED,
        remediation="Bind PostgreSQL to localhost.",
    )
    cache = make_finding(
        rule_id="redis-eol",
        host="127.0.0.15",
        port=6379,
        severity=Severity.HIGH,
        confidence=Confidence.CONFIRMED,
        remediation="Move to a supported Redis branch.",
    )
    assets = (
        Asset("marketing-site", address="127.0.0.11", internet_exposed=True),
        Asset("customer-db", address="127.0.0.16", customer_records=1_000_000),
        Asset("session-cache", address="127.0.0.15", customer_records=1_000_000),
    )
    result = make_result(hosts=(), findings=(database, cache, kev))
    assessment = assess(result, Inventory("assets.yaml", assets))
    scores = {r.fingerprint: r.score for r in assessment.findings}
    # The score alone would rank the data stores first: records at stake.
    assert scores[database.fingerprint] > scores[cache.fingerprint] > scores[kev.fingerprint]
    assert [s.host for s in assessment.plan] == ["127.0.0.11", "127.0.0.16", "127.0.0.15"]
    assert assessment.plan[0].severity is Severity.CRITICAL
    assert assessment.plan[0].score == scores[kev.fingerprint]


def test_within_a_severity_exploited_then_exposed_then_the_score() -> None:
    high = {"severity": Severity.HIGH, "confidence": Confidence.CONFIRMED}
    kev_exposed = _kev_finding(host="127.0.0.21", remediation="a", **high)
    kev_inside = _kev_finding(host="127.0.0.22", remediation="b", **high)
    exposed = make_finding(rule_id="x", host="127.0.0.23", remediation="c", **high)
    rich = make_finding(rule_id="y", host="127.0.0.24", remediation="d", **high)
    assets = (
        Asset("kev-exposed", address="127.0.0.21", internet_exposed=True),
        Asset("kev-inside", address="127.0.0.22"),
        Asset("exposed", address="127.0.0.23", internet_exposed=True),
        # The most records, the highest score, and still last: nothing says
        # attackers use or reach it.
        Asset("rich", address="127.0.0.24", customer_records=10**9),
    )
    findings = (rich, exposed, kev_inside, kev_exposed)
    assert _plan(findings, *assets) == [
        ("127.0.0.21", "a"),
        ("127.0.0.22", "b"),
        ("127.0.0.23", "c"),
        ("127.0.0.24", "d"),
    ]


def test_severity_comes_before_exploited_and_exposed() -> None:
    """A KEV CVE is at least high; a high KEV still waits behind any critical,
    even an uncertain one on an unexposed host (the documented price)."""
    kev_high = _kev_finding(severity=Severity.HIGH, confidence=Confidence.CONFIRMED)
    critical = make_finding(
        rule_id="old-apache",
        host="127.0.0.30",
        severity=Severity.CRITICAL,
        confidence=Confidence.LOW,
        remediation="Upgrade.",
    )
    medium_exposed = make_finding(
        rule_id="header", host="127.0.0.11", port=443, remediation="Set the header."
    )
    assets = (Asset("site", address="127.0.0.11", internet_exposed=True),)
    assert _plan((medium_exposed, kev_high, critical), *assets) == [
        ("127.0.0.30", "Upgrade."),
        ("127.0.0.11", kev_high.remediation),
        ("127.0.0.11", "Set the header."),
    ]


def test_a_step_ranks_by_its_most_urgent_finding() -> None:
    """One upgrade fixes a medium and the KEV critical: the step is critical and exploited."""
    upgrade = "Upgrade to Apache httpd 2.4.51 or later."
    outdated = make_finding(host="127.0.0.11", remediation=upgrade)
    kev = _kev_finding(remediation=upgrade)
    other = make_finding(
        rule_id="postgres-open",
        host="127.0.0.16",
        port=5432,
        severity=Severity.CRITICAL,
        confidence=Confidence.CONFIRMED,
        remediation="Bind PostgreSQL to localhost.",
    )
    plan = assess(make_result(hosts=(), findings=(outdated, other, kev))).plan
    assert [(s.host, len(s.fingerprints)) for s in plan] == [("127.0.0.11", 2), ("127.0.0.16", 1)]
    assert plan[0].severity is Severity.CRITICAL


def test_without_an_inventory_nothing_is_exposed() -> None:
    result = make_result(hosts=(), findings=(make_finding(host="127.0.0.11"),))
    assert remediation_plan(result, assess(result).findings, exposed=()) == assess(result).plan


def _demo_lab_result() -> ScanResult:
    """The demo's scan, rebuilt from its own data: the recorded lab scan
    (fixtures/nmap/demo-lab.xml, recorded at 127.0.5.x: the Apache and OpenSSH
    targets) at the demo's addresses, judged by the built-in rules with the
    demo's inventory, plus what the data-store probes find in the demo's open
    Redis and PostgreSQL (open card data, plaintext passwords, the records
    they counted), which no nmap XML can hold."""
    xml = (FIXTURES / "nmap" / "demo-lab.xml").read_text(encoding="utf-8")
    inventory = load_inventory(FIXTURES / "inventory" / "demo-assets.yaml")
    with tempfile.TemporaryDirectory() as scratch:
        moved = Path(scratch) / "demo-lab.xml"
        moved.write_text(xml.replace("127.0.5.", "127.0.0."), encoding="utf-8")
        scanned = pipeline.scan_nmap_xml(
            moved, load_rules([builtin_rules_dir()]), ["builtin"], inventory
        )
    stores = [("127.0.0.15", 6379, "redis", 361), ("127.0.0.16", 5432, "postgresql", 890)]
    found = tuple(
        make_finding(
            rule_id=rule_id,
            host=host,
            port=port,
            service=service,
            severity=Severity.CRITICAL,
            confidence=Confidence.CONFIRMED,
            category="exposure",
            remediation=f"Protect the {service} store.",
        )
        for host, port, service, _ in stores
        for rule_id in ("datastore-open-card-data", "datastore-plaintext-passwords")
    )
    counted = tuple(
        make_observation(host=host, port=port, probe=service, key="store.records", value=str(n))
        for host, port, service, n in stores
    )
    result = replace(
        scanned,
        findings=scanned.findings + found,
        observations=scanned.observations + counted,
    )
    return assessed(result, inventory)


def test_the_demo_plan_starts_with_cve_2021_41773() -> None:
    result = _demo_lab_result()
    assert result.assessment is not None
    first = result.assessment.plan[0]
    by_print = {f.fingerprint: f for f in result.findings}
    assert first.host == "127.0.0.11"
    assert first.system == "marketing-site (apache-2.4.49)"
    cves = {v.id: v for fp in first.fingerprints for v in by_print[fp].vulnerabilities}
    assert cves["CVE-2021-41773"].exploited is not None
    # The data stores, the legacy shop and the CRM hold customer records and
    # outscore it: by the score alone it was far down the plan (step 20 in the
    # demo before this order).
    scores = {r.fingerprint: r.score for r in result.assessment.findings}
    assert sum(score > first.score for score in scores.values()) >= 8
    # The other criticals follow, then the highs: the plan is in severity order.
    ranks = [s.severity.rank for s in result.assessment.plan]
    assert ranks == sorted(ranks, reverse=True)
