"""Factories for model objects: sensible defaults, any field overridable by keyword.

Tests build their data here instead of in ad-hoc dicts, so that a new field in
the model is added in one place.
"""

from __future__ import annotations

from typing import Any

from scanner.model import (
    Assessment,
    CategoryAtRisk,
    Confidence,
    CostEstimate,
    CustomerTrust,
    Duty,
    DutyKind,
    Finding,
    FindingRisk,
    Host,
    HostAtRisk,
    HostRisk,
    NmapRun,
    Notice,
    Observation,
    PlanStep,
    PortStateCount,
    ProbeError,
    Reason,
    ScanResult,
    SegmentAtRisk,
    Service,
    Severity,
    TrustImpact,
)
from scanner.result_io import SCHEMA_VERSION
from scanner.rule_engine.rules import fingerprint

DEFAULT_ADDRESS = "127.0.0.10"


def make_service(**overrides: Any) -> Service:
    """An open Apache httpd on 80/tcp with an upstream (non-distribution) version."""
    fields: dict[str, Any] = {
        "port": 80,
        "protocol": "tcp",
        "state": "open",
        "reason": "syn-ack",
        "name": "http",
        "product": "Apache httpd",
        "version": "2.4.62",
        "extrainfo": "",
        "method": "probed",
        "conf": 10,
        "cpes": ("cpe:/a:apache:http_server:2.4.62",),
    }
    fields.update(overrides)
    return Service(**fields)


def make_host(**overrides: Any) -> Host:
    """A host that is up, with one web service and 999 closed ports folded away."""
    fields: dict[str, Any] = {
        "address": DEFAULT_ADDRESS,
        "status": "up",
        "status_reason": "user-set",
        "hostnames": (),
        "services": (make_service(),),
        "extraports": (PortStateCount("closed", 999, (Reason("reset", 999),)),),
    }
    fields.update(overrides)
    return Host(**fields)


def make_trust(**overrides: Any) -> TrustImpact:
    fields: dict[str, Any] = {
        "data_at_stake": ("customer accounts", "session cookies"),
        "impact": "Customers' accounts are exposed to known, published attacks.",
    }
    fields.update(overrides)
    return TrustImpact(**fields)


def make_finding(**overrides: Any) -> Finding:
    """A medium finding on the default host's port 80.

    The fingerprint is computed from rule id, host, protocol, port and
    subject unless it is given, so overriding any of those keeps it consistent.
    """
    fields: dict[str, Any] = {
        "rule_id": "apache-httpd-outdated",
        "title": "Apache httpd 2.4 is older than the newest release the rule knows",
        "severity": Severity.MEDIUM,
        "confidence": Confidence.HIGH,
        "host": DEFAULT_ADDRESS,
        "port": 80,
        "protocol": "tcp",
        "service": "http",
        "evidence": ("nmap: 80/tcp http: Apache httpd 2.4.49", "version: 2.4.49 is <2.4.68"),
        "description": "The server runs an Apache httpd 2.4 release that misses fixes.",
        "remediation": "Update to the newest Apache httpd 2.4 release.",
        "trust": make_trust(),
        "category": "outdated-software",
        "references": ("https://httpd.apache.org/security/vulnerabilities_24.html",),
        "notes": (),
    }
    fields.update(overrides)
    if "fingerprint" not in fields:
        fields["fingerprint"] = fingerprint(
            fields["rule_id"],
            fields["host"],
            fields["protocol"],
            fields["port"],
            fields.get("subject", ""),
        )
    return Finding(**fields)


def make_observation(**overrides: Any) -> Observation:
    fields: dict[str, Any] = {
        "host": DEFAULT_ADDRESS,
        "port": 80,
        "probe": "http",
        "key": "http.server_header",
        "value": "Apache/2.4.49 (Unix)",
        "evidence": "Server: Apache/2.4.49 (Unix)",
    }
    fields.update(overrides)
    return Observation(**fields)


def make_probe_error(**overrides: Any) -> ProbeError:
    fields: dict[str, Any] = {
        "stage": "probe",
        "target": "127.0.0.11",
        "reason": "timeout",
        "message": "tls: no answer within 5.0 s",
        "port": 443,
    }
    fields.update(overrides)
    return ProbeError(**fields)


def make_result(**overrides: Any) -> ScanResult:
    """A finished scan of two hosts with findings of several severities,
    one probe error and one observation."""
    web = make_host(
        address="127.0.0.10",
        hostnames=("www.example.test",),
        services=(
            make_service(
                version="2.2.15",
                extrainfo="(CentOS)",
                cpes=("cpe:/a:apache:http_server:2.2.15", "cpe:/o:centos:centos"),
            ),
            make_service(
                port=443,
                name="http",
                tunnel="ssl",
                version="2.4.49",
                cpes=("cpe:/a:apache:http_server:2.4.49",),
            ),
        ),
    )
    db = make_host(
        address="127.0.0.11",
        services=(
            make_service(
                port=22,
                name="ssh",
                product="OpenSSH",
                version="9.2p1 Debian 2+deb12u3",
                extrainfo="protocol 2.0",
                cpes=("cpe:/a:openbsd:openssh:9.2p1",),
            ),
            make_service(
                port=3306,
                name="mysql",
                product="MySQL",
                version="5.5.5-10.11.19-MariaDB-0+deb12u1",
                cpes=(),
            ),
        ),
        other_ports=(PortStateCount("filtered", 2, (Reason("no-response", 2),)),),
    )
    fields: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool_version": "0.1.0",
        "started": "2026-11-25T10:00:00+00:00",
        "finished": "2026-11-25T10:05:00+00:00",
        "targets": ("127.0.0.10", "127.0.0.11"),
        "nmap": NmapRun(version="7.93", commands=("nmap -sV -oX - 127.0.0.10 127.0.0.11",)),
        "hosts": (web, db),
        "observations": (make_observation(),),
        "findings": (
            make_finding(
                rule_id="apache-httpd-eol",
                severity=Severity.HIGH,
                confidence=Confidence.LOW,
                category="end-of-life",
                title="Apache httpd 2.2 or older is end of life",
                notes=("The version comes from a CentOS package.",),
            ),
            make_finding(port=443, severity=Severity.MEDIUM),
            make_finding(
                rule_id="mariadb-exposed",
                host="127.0.0.11",
                port=3306,
                service="mysql",
                severity=Severity.CRITICAL,
                confidence=Confidence.CONFIRMED,
                category="exposure",
                title="MariaDB accepts connections from the network",
            ),
            make_finding(
                rule_id="ssh-banner",
                host="127.0.0.11",
                port=22,
                service="ssh",
                severity=Severity.INFO,
                category="configuration",
                title="SSH banner names the distribution",
            ),
        ),
        "probe_errors": (make_probe_error(),),
        "rule_sources": ("rules",),
    }
    fields.update(overrides)
    return ScanResult(**fields)


# -- the assessment: risk scores, plan, customer trust ------------------------

FINGERPRINT_A = fingerprint("apache-httpd-eol", "127.0.0.10", "tcp", 80)
FINGERPRINT_B = fingerprint("mariadb-exposed", "127.0.0.11", "tcp", 3306)


def make_plan_step(**overrides: Any) -> PlanStep:
    fields: dict[str, Any] = {
        "rank": 1,
        "host": "127.0.0.11",
        "remediation": "Allow MariaDB only from the application servers.",
        "score": 40.0,
        "severity": Severity.CRITICAL,
        "fingerprints": (FINGERPRINT_B,),
        "titles": ("MariaDB accepts connections from the network",),
        "system": "customer-db",
        "owner": "dba@example.test",
    }
    fields.update(overrides)
    return PlanStep(**fields)


def make_category_at_risk(**overrides: Any) -> CategoryAtRisk:
    fields: dict[str, Any] = {
        "category": "email",
        "records": 120_000,
        "customers": 120_000,
        "segments": ("customers with a stored payment card", "customers with no card on file"),
        "hosts": ("127.0.0.11",),
        "sources": ("assets.yaml:3",),
        "fingerprints": (FINGERPRINT_B,),
    }
    fields.update(overrides)
    return CategoryAtRisk(**fields)


def make_host_at_risk(**overrides: Any) -> HostAtRisk:
    fields: dict[str, Any] = {
        "host": "127.0.0.11",
        "records": 120_000,
        "categories": ("email", "name", "card-number"),
        "segments": ("customers with a stored payment card", "customers with no card on file"),
        "sources": ("inventory assets.yaml:3", "observed on 127.0.0.11:3306"),
        "fingerprints": (FINGERPRINT_B,),
        "worst": Severity.CRITICAL,
        "system": "customer-db",
        "owner": "dba@example.test",
    }
    fields.update(overrides)
    return HostAtRisk(**fields)


def make_segment_at_risk(**overrides: Any) -> SegmentAtRisk:
    fields: dict[str, Any] = {
        "name": "customers with a stored payment card",
        "customers": 45_000,
        "categories": ("card-number", "email", "name"),
        "hosts": ("127.0.0.11",),
        "fingerprints": (FINGERPRINT_B,),
    }
    fields.update(overrides)
    return SegmentAtRisk(**fields)


def make_duty(**overrides: Any) -> Duty:
    fields: dict[str, Any] = {
        "kind": DutyKind.GDPR_ART_33,
        "title": "Notify the supervisory authority",
        "basis": "GDPR Art. 33(1)",
        "deadline": "within 72 hours of becoming aware of the breach",
        "who": "the data protection supervisory authority",
        "why": "personal data (email, name) of 120,000 customers is exposed",
        "fingerprints": (FINGERPRINT_B,),
        "reference": "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
    }
    fields.update(overrides)
    return Duty(**fields)


def make_cost_estimate(**overrides: Any) -> CostEstimate:
    fields: dict[str, Any] = {
        "records": 120_000,
        "counted": "customers at risk (inventory segments)",
        "per_record": 173.0,
        "currency": "USD",
        "source": "IBM/Ponemon Cost of a Data Breach Report 2024",
        "total": 20_760_000.0,
    }
    fields.update(overrides)
    return CostEstimate(**fields)


def make_notice(**overrides: Any) -> Notice:
    fields: dict[str, Any] = {
        "segment": "customers with a stored payment card",
        "customers": 45_000,
        "categories": ("card-number", "email", "name"),
        "subject": "Important: your payment card details may have been exposed",
        "known": "On [date] we found that a system holding your card details was exposed.",
        "doing": "We closed the exposure and are working with our card processor.",
        "advice": ("Check your card statements.", "Beware of emails asking for your details."),
        "contact": "[contact address or phone line]",
    }
    fields.update(overrides)
    return Notice(**fields)


def make_customer_trust(**overrides: Any) -> CustomerTrust:
    fields: dict[str, Any] = {
        "records_at_risk": 120_000,
        "customers_at_risk": 120_000,
        "categories": (
            make_category_at_risk(),
            make_category_at_risk(
                category="card-number",
                records=45_000,
                customers=45_000,
                segments=("customers with a stored payment card",),
            ),
        ),
        "hosts": (make_host_at_risk(),),
        "segments": (
            make_segment_at_risk(),
            make_segment_at_risk(
                name="customers with no card on file",
                customers=75_000,
                categories=("email", "name"),
            ),
        ),
        "duties": (
            make_duty(),
            make_duty(
                kind=DutyKind.GDPR_ART_34,
                title="Tell the customers affected",
                basis="GDPR Art. 34(1)",
                deadline="without undue delay",
                who="the customers whose data is exposed",
            ),
            make_duty(
                kind=DutyKind.PCI_DSS,
                title="Start the card-data incident response",
                basis="PCI DSS v4.0 Req. 12.10",
                deadline="immediately, as your acquirer's agreement sets out",
                who="your acquiring bank and the card brands",
            ),
        ),
        "cost": make_cost_estimate(),
        "notices": (
            make_notice(),
            make_notice(
                segment="customers with no card on file",
                customers=75_000,
                categories=("email", "name"),
                subject="Important: your contact details may have been exposed",
            ),
        ),
    }
    fields.update(overrides)
    return CustomerTrust(**fields)


def make_assessment(**overrides: Any) -> Assessment:
    """Scores, a plan and a trust summary for `make_result()`'s findings."""
    fields: dict[str, Any] = {
        "findings": (
            FindingRisk(FINGERPRINT_B, 40.0, ("critical severity \u00d710",)),
            FindingRisk(FINGERPRINT_A, 15.8, ("high severity \u00d77",)),
        ),
        "hosts": (
            HostRisk("127.0.0.11", 40.0, "customer-db", "dba@example.test"),
            HostRisk("127.0.0.10", 17.6, "shop", "web@example.test"),
        ),
        "inventory_source": "assets.yaml",
        "plan": (
            make_plan_step(),
            make_plan_step(
                rank=2,
                host="127.0.0.10",
                remediation="Upgrade Apache httpd to a supported 2.4 release.",
                score=15.8,
                severity=Severity.HIGH,
                fingerprints=(FINGERPRINT_A,),
                titles=("Apache httpd 2.2 or older is end of life",),
                system="shop",
                owner="web@example.test",
            ),
        ),
        "trust": make_customer_trust(),
    }
    fields.update(overrides)
    return Assessment(**fields)


def rule_yaml(rule_id: str, severity: str = "low", title: str = "A rule that loads cleanly") -> str:
    """A rules file of one valid rule, for the tests that write rules directories."""
    return f"""\
rules:
  - id: {rule_id}
    title: {title}
    severity: {severity}
    match:
      product: apache-httpd
    description: The server runs Apache httpd, which this test cares about.
    remediation: Nothing to do; this rule only exists for a test.
    references:
      - https://example.org/rule
    trust:
      data_at_stake: [customer accounts]
      impact: Nothing at all, this is a test rule.
"""
