"""Versions Debian does not ship, from nmap XML recorded against the demo lab
(fixtures/nmap/demo-lab.xml: Apache 2.2.15 on CentOS, Apache 2.4.49, a LAMP
banner with PHP 5.3 and OpenSSL 1.0.1, OpenSSH 7.4)."""

from __future__ import annotations

from scanner import pipeline
from scanner.rule_engine.loader import load_rules
from scanner.support.resources import builtin_rules_dir
from tests.support import FIXTURES


def test_recorded_lab_scan_finds_what_each_target_stands_for() -> None:
    rules = load_rules([builtin_rules_dir()])
    result = pipeline.scan_nmap_xml(FIXTURES / "nmap" / "demo-lab.xml", rules, ["builtin"])
    found = {(f.host.rsplit(".", 1)[1], f.rule_id) for f in result.findings}
    assert {
        ("10", "apache-httpd-eol"),
        ("11", "apache-httpd-known-vulnerabilities"),
        ("11", "apache-httpd-outdated"),
        ("13", "php-eol"),
        ("13", "openssl-eol"),
        ("14", "openssh-outdated"),
    } <= found
    cves = {v.id for f in result.findings if f.host.endswith(".11") for v in f.vulnerabilities}
    assert {"CVE-2021-41773", "CVE-2021-42013"} <= cves
    # No version verdict on the 2.4.62 Debian build is called certain.
    debian = [f for f in result.findings if f.host.endswith(".12") and f.port is not None]
    assert debian
    assert all(f.confidence.value == "low" for f in debian)
    # Three ports probed per host: too few to judge a packet filter either way.
    undetermined = {
        f.host for f in result.findings if f.rule_id == "host-packet-filter-undetermined"
    }
    assert undetermined == {h.address for h in result.hosts}
    assert not any(f.rule_id == "host-no-packet-filter" for f in result.findings)
