"""The risk model of `scanner.assessment.risk` on factory-built findings."""

from __future__ import annotations

import pytest

from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.risk import (
    TIMES,
    assess,
    data_factor,
    finding_risk,
    host_score,
    remediation_plan,
    risk_level,
)
from scanner.model import Confidence, Finding, ScanResult, Severity
from tests.factories import make_finding, make_host, make_observation, make_result


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
            make_observation(
                host="127.0.0.16", port=5432, probe="postgres", key="store.records", value=records
            ),
        ),
    )
    return result, exposed, ssh


def test_the_store_records_observation_counts_on_its_port() -> None:
    result, exposed, ssh = _db_result()
    assessment = assess(result)
    scores = {r.fingerprint: r for r in assessment.findings}
    assert scores[exposed.fingerprint].score == 20.0  # 10 x (1 + log10(100) / 2)
    assert f"99 customer records (observed) {TIMES}2.00" in scores[exposed.fingerprint].factors
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
