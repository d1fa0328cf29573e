"""End to end: recorded nmap XML of Debian and Ubuntu sshd, the built-in rules
and the built-in advisory data (rules/advisories/), into findings and reports."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from scanner import pipeline
from scanner.discovery.nmap_xml import parse_file
from scanner.formats import OutputFormat, formatter_for
from scanner.model import BackportVerdict, Confidence, Finding, Host, Severity
from scanner.rule_engine.advisories import builtin_advisories
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import Rule, evaluate
from scanner.support.resources import builtin_rules_dir
from tests.factories import make_host, make_service
from tests.support import FIXTURES

GROUP = "openssh-known-vulnerabilities"
REGRESSHION = "CVE-2024-6387"


@pytest.fixture(scope="module")
def rules() -> tuple[Rule, ...]:
    return load_rules([builtin_rules_dir()])


def _hosts(name: str) -> dict[str, Host]:
    report = parse_file(FIXTURES / "nmap" / name, lambda done, total: None)
    return {h.address: h for h in report.hosts}


def _group(findings: tuple[Finding, ...], host: str, rule_id: str = GROUP) -> Finding | None:
    found = [f for f in findings if f.host == host and f.rule_id == rule_id]
    assert len(found) <= 1
    return found[0] if found else None


def test_debian_deb12u10_has_no_regresshion_finding(rules: tuple[Rule, ...]) -> None:
    host = _hosts("debian-packages.xml")["127.0.77.3"]  # the real Debian 12 sshd
    findings = evaluate([host], [], rules)
    assert _group(findings, host.address) is None
    assert not any(v.id == REGRESSHION for f in findings for v in f.vulnerabilities)
    # The other OpenSSH rules are untouched: still a possibly-backported version.
    outdated = _group(findings, host.address, "openssh-outdated")
    assert outdated is not None
    assert outdated.confidence is Confidence.LOW


def test_debian_deb12u2_is_certain_with_the_dsa_as_evidence(rules: tuple[Rule, ...]) -> None:
    host = _hosts("distro-openssh-banners.xml")["127.0.77.11"]
    finding = _group(evaluate([host], [], rules), host.address)
    assert finding is not None
    assert finding.confidence is Confidence.HIGH
    assert finding.severity is Severity.HIGH
    (vuln,) = finding.vulnerabilities
    assert vuln.backport is BackportVerdict.VULNERABLE
    expected = (
        "DSA-5724-1: fixed in 1:9.2p1-2+deb12u3 for Debian 12 (bookworm); "
        "this package is 1:9.2p1-2+deb12u2"
    )
    assert vuln.backport_evidence == expected
    assert f"{REGRESSHION}: {expected}" in finding.evidence
    assert not any("may carry backported" in n for n in finding.notes)
    assert "1:9.2p1-2+deb12u3 or later, from DSA-5724-1" in finding.remediation
    assert finding.fixed_by_distribution == ()


@pytest.mark.parametrize(("address", "listed"), [("127.0.77.12", False), ("127.0.77.13", True)])
def test_ubuntu_22_04(rules: tuple[Rule, ...], address: str, listed: bool) -> None:
    host = _hosts("distro-openssh-banners.xml")[address]
    finding = _group(evaluate([host], [], rules), address)
    assert (finding is not None) == listed
    if finding is not None:
        assert finding.confidence is Confidence.HIGH
        assert "USN-6859-1" in finding.vulnerabilities[0].backport_evidence


def _extra_rules(rule_id: str, product: str, cve: str, version: str, directory: Path) -> Rule:
    """A test rule for one more CVE of a product, low severity."""
    directory.mkdir(exist_ok=True)
    path = directory / f"{rule_id}.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            rules:
              - id: {rule_id}
                title: A test vulnerability of {product}
                severity: low
                category: vulnerability
                vulnerability:
                  id: {cve}
                  fixed_in: ["99.0"]
                match:
                  all:
                    - product: {product}
                    - version: "{version}"
                description: >
                  A vulnerability made up for the tests, in a range of versions
                  that the distribution's advisory data knows nothing of.
                remediation: >
                  Upgrade the package to the distribution's newest security update.
                references: ["https://example.invalid/{cve}"]
                trust:
                  data_at_stake: [test data]
                  impact: >
                    None: this rule exists only for the tests of the rule engine.
            """
        ),
        encoding="utf-8",
    )
    (rule,) = load_rules([directory])
    return rule


def test_a_fixed_cve_is_listed_beside_the_ones_that_remain(
    rules: tuple[Rule, ...], tmp_path: Path
) -> None:
    # A CVE the data does not cover keeps the group alive: regreSSHion,
    # fixed by Debian, is listed apart, and no longer sets the severity.
    extra = (_extra_rules("test-openssh", "openssh", "CVE-2099-0101", ">=9.0,<9.9", tmp_path),)
    host = _hosts("debian-packages.xml")["127.0.77.3"]
    finding = _group(evaluate([host], [], (*rules, *extra)), host.address)
    assert finding is not None
    assert [v.id for v in finding.vulnerabilities] == ["CVE-2099-0101"]
    assert finding.vulnerabilities[0].backport is BackportVerdict.UNDECIDED
    (fixed,) = finding.fixed_by_distribution
    assert fixed.id == REGRESSHION
    assert fixed.backport is BackportVerdict.FIXED
    assert fixed.backport_evidence.startswith("DSA-5724-1: fixed in 1:9.2p1-2+deb12u3")
    assert finding.severity is Severity.LOW  # from what remains, not regreSSHion's high
    # The version evidence is the remaining CVE's range, not regreSSHion's.
    assert "version: 9.2p1 Debian 2+deb12u10 (read as 9.2.post1) is >=9.0,<9.9" in finding.evidence
    assert finding.confidence is Confidence.LOW  # undecided: a backport may hide
    assert any(
        n.startswith("Not settled by Debian's advisory data: CVE-2099-0101") for n in finding.notes
    )
    assert any("Debian fixed 1 more known vulnerability" in n for n in finding.notes)
    # At deb12u2 both remain: high, and low confidence for the undecided one.
    older = _hosts("distro-openssh-banners.xml")["127.0.77.11"]
    both = _group(evaluate([older], [], (*rules, *extra)), older.address)
    assert both is not None
    assert [v.id for v in both.vulnerabilities] == [REGRESSHION, "CVE-2099-0101"]
    assert (both.severity, both.confidence) == (Severity.HIGH, Confidence.LOW)


def test_changelog_evidence_gives_medium_confidence(tmp_path: Path) -> None:
    # CVE-2025-21490 is in the bookworm mariadb changelog at 1:10.11.11-0+deb12u1
    # and in no Debian advisory of the data: a test rule's range stands for it.
    extra = (_extra_rules("test-mariadb", "mariadb", "CVE-2025-21490", "<10.11.20", tmp_path),)
    mariadb = _hosts("debian-packages.xml")["127.0.77.6"]  # the real 10.11.19-0+deb12u1
    assert (
        _group(evaluate([mariadb], [], extra), mariadb.address, "mariadb-known-vulnerabilities")
        is None
    )
    older = make_host(
        services=(
            make_service(
                port=3306, name="mysql", product="MySQL", version="5.5.5-10.11.6-MariaDB-0+deb12u1"
            ),
        )
    )
    finding = _group(evaluate([older], [], extra), older.address, "mariadb-known-vulnerabilities")
    assert finding is not None
    assert finding.confidence is Confidence.MEDIUM
    assert "weaker evidence" in finding.vulnerabilities[0].backport_evidence


def test_a_report_says_what_was_fixed_and_what_data_judged_it(
    rules: tuple[Rule, ...], tmp_path: Path
) -> None:
    extra = _extra_rules("test-openssh", "openssh", "CVE-2099-0101", ">=9.0,<9.9", tmp_path)
    result = pipeline.scan_nmap_xml(
        FIXTURES / "nmap" / "debian-packages.xml", (*rules, extra), ["builtin"]
    )
    names = [s.name for s in result.data_sources]
    assert "Debian 12 (bookworm) security advisories" in names
    assert "Ubuntu security notices and CVE tracker" in names
    debian = next(s for s in result.data_sources if s.name.startswith("Debian 12"))
    assert debian == next(s for s in builtin_advisories().sources if s.name == debian.name)
    assert debian.as_of
    assert "partial" in debian.coverage
    assert "trustscan rules import" in debian.update

    page = formatter_for(OutputFormat.HTML).format(result)
    assert "<dt>Fixed by the distribution</dt>" in page
    assert f"{REGRESSHION}: DSA-5724-1: fixed in 1:9.2p1-2+deb12u3" in page
    assert "<dt>Data sources</dt>" in page
    assert f"<strong>{debian.name}</strong>, as of {debian.as_of}" in page

    saved = json.loads(formatter_for(OutputFormat.JSON).format(result))
    (group,) = [f for f in saved["findings"] if f["rule_id"] == GROUP]
    assert [v["id"] for v in group["fixed_by_distribution"]] == [REGRESSHION]
    assert group["fixed_by_distribution"][0]["backport"] == "fixed"

    markdown = formatter_for(OutputFormat.MARKDOWN).format(result)
    assert "**Data:** " in markdown
    assert f"{debian.name} as of {debian.as_of}" in markdown


def test_no_cve_rule_no_advisory_source() -> None:
    # The advisories judge known vulnerabilities only: without CVE rules the
    # result does not claim them as a source.
    from scanner.rule_engine.advisories import advisory_sources

    assert advisory_sources([]) == ()
