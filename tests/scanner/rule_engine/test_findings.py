"""Fingerprints: what a finding is about (rule, host identity, protocol, port,
subject), never what fixing it changes (version, CVE list, title, severity)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scanner.model import Finding, Host
from scanner.rule_engine.findings import (
    fingerprint,
    keyed_by,
    rekeyed,
    system_identity,
)
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import Rule, evaluate
from scanner.support.resources import builtin_rules_dir
from tests.factories import DEFAULT_ADDRESS, make_finding, make_host, make_service


@pytest.fixture(scope="module")
def builtin() -> tuple[Rule, ...]:
    return load_rules([builtin_rules_dir()])


def _apache(version: str, extrainfo: str = "") -> Host:
    return make_host(services=(make_service(version=version, extrainfo=extrainfo),))


def _by_rule(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.rule_id: f for f in findings}


def test_the_subject_is_part_of_the_key() -> None:
    plain = fingerprint("r", "127.0.0.1", "tcp", 80)
    apache = fingerprint("r", "127.0.0.1", "tcp", 80, "apache-httpd")
    openssl = fingerprint("r", "127.0.0.1", "tcp", 80, "openssl")
    assert len({plain, apache, openssl}) == 3
    assert apache == fingerprint("r", "127.0.0.1", "tcp", 80, "apache-httpd")


def test_a_finding_without_subject_keeps_the_fingerprint_older_results_hold() -> None:
    """Results written before subjects existed stay usable as baselines."""
    key = "v1|apache-httpd-eol|127.0.0.10|tcp|80"
    older = hashlib.sha256(key.encode()).hexdigest()[:24]
    assert fingerprint("apache-httpd-eol", "127.0.0.10", "tcp", 80) == older
    assert fingerprint("apache-httpd-eol", "127.0.0.10", "tcp", 80, "") == older


def test_version_findings_carry_their_product_as_subject(builtin: tuple[Rule, ...]) -> None:
    found = _by_rule(evaluate([_apache("2.4.49")], [], builtin))
    outdated = found["apache-httpd-outdated"]
    grouped = found["apache-httpd-known-vulnerabilities"]
    assert outdated.subject == grouped.subject == "apache-httpd"
    assert outdated.fingerprint == fingerprint(
        "apache-httpd-outdated", DEFAULT_ADDRESS, "tcp", 80, "apache-httpd"
    )
    assert grouped.fingerprint == fingerprint(
        "apache-httpd-known-vulnerabilities", DEFAULT_ADDRESS, "tcp", 80, "apache-httpd"
    )


def test_a_rule_that_reads_no_version_has_no_subject(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        """\
rules:
  - id: http-on-80
    title: HTTP on port 80
    severity: low
    match:
      all:
        - service: http
        - port: 80
    description: Plain HTTP.
    remediation: Use HTTPS.
    references: [https://example.org/http]
    trust:
      data_at_stake: [sessions]
      impact: Anyone on the path reads the traffic.
""",
        encoding="utf-8",
    )
    # The banner names two products; a rule blind to products matches both,
    # and is still one finding.
    host = _apache("2.4.49", "(Unix) OpenSSL/1.0.2k")
    (finding,) = evaluate([host], [], load_rules([tmp_path]))
    assert finding.subject == ""
    assert finding.fingerprint == fingerprint("http-on-80", DEFAULT_ADDRESS, "tcp", 80)


def test_two_products_on_one_port_have_distinct_fingerprints(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        """\
rules:
  - id: any-product-before-9
    title: A product older than 9
    severity: low
    match:
      version: "<9"
    description: Any product the banner names, older than 9.
    remediation: Upgrade it.
    references: [https://example.org/old]
    trust:
      data_at_stake: [test data]
      impact: None, a test rule.
""",
        encoding="utf-8",
    )
    host = _apache("2.4.49", "(Unix) OpenSSL/1.0.2k")
    findings = evaluate([host], [], load_rules([tmp_path]))
    assert sorted(f.subject for f in findings) == ["apache-httpd", "openssl"]
    assert len({f.fingerprint for f in findings}) == 2
    assert {f.port for f in findings} == {80}


def test_version_and_cve_list_changes_keep_the_fingerprint(builtin: tuple[Rule, ...]) -> None:
    older = _by_rule(evaluate([_apache("2.4.49")], [], builtin))
    newer = _by_rule(evaluate([_apache("2.4.50")], [], builtin))
    cves = "apache-httpd-known-vulnerabilities"
    # The fix for one CVE changed the list and the title, not what it is about.
    listed = [{v.id for v in found[cves].vulnerabilities} for found in (older, newer)]
    assert listed[0] != listed[1]
    assert older[cves].title != newer[cves].title
    assert older[cves].fingerprint == newer[cves].fingerprint
    assert older["apache-httpd-outdated"].fingerprint == newer["apache-httpd-outdated"].fingerprint


def test_a_distribution_build_keeps_the_fingerprint(builtin: tuple[Rule, ...]) -> None:
    upstream = _by_rule(evaluate([_apache("2.2.15")], [], builtin))
    centos = _by_rule(evaluate([_apache("2.2.15", "(CentOS)")], [], builtin))
    assert upstream["apache-httpd-eol"].confidence != centos["apache-httpd-eol"].confidence
    assert upstream["apache-httpd-eol"].fingerprint == centos["apache-httpd-eol"].fingerprint


def test_rekeyed_uses_the_host_identity_and_nothing_else() -> None:
    finding = make_finding(subject="apache-httpd")
    system = system_identity("shop-web")
    moved = rekeyed(finding, system)
    assert moved.fingerprint == fingerprint(
        finding.rule_id, system, finding.protocol, finding.port, "apache-httpd"
    )
    assert moved.host == finding.host  # the address stays what it is
    assert keyed_by(moved, system)
    assert not keyed_by(moved, finding.host)
    assert rekeyed(moved, finding.host).fingerprint == fingerprint(
        finding.rule_id, finding.host, finding.protocol, finding.port, "apache-httpd"
    )
    # A system name cannot pass for another host's address.
    assert system_identity("127.0.0.10") != "127.0.0.10"
