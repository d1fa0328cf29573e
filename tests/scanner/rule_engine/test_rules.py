from __future__ import annotations

from pathlib import Path

import pytest

from scanner.model import Confidence, Finding, Host, Observation, Severity
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import Rule, evaluate, fingerprint
from scanner.support.resources import builtin_rules_dir
from tests.factories import DEFAULT_ADDRESS, make_host, make_observation, make_service


@pytest.fixture(scope="module")
def builtin_rules() -> tuple[Rule, ...]:
    """The hand-written Apache lifecycle rules (CVE rules are tested on their own)."""
    source = str(builtin_rules_dir() / "apache-httpd.yaml")
    return tuple(r for r in load_rules([builtin_rules_dir()]) if r.source.startswith(source))


def apache(version: str, extrainfo: str = "", **kw: object) -> Host:
    return make_host(services=(make_service(version=version, extrainfo=extrainfo, **kw),))


def ids(findings: tuple[Finding, ...]) -> list[str]:
    return [f.rule_id for f in findings]


def test_apache_2_2_centos_is_eol_with_low_confidence(builtin_rules: tuple[Rule, ...]) -> None:
    findings = evaluate([apache("2.2.15", "(CentOS)")], [], builtin_rules)
    assert ids(findings) == ["apache-httpd-eol"]
    (finding,) = findings
    assert finding.severity is Severity.HIGH
    assert finding.confidence is Confidence.LOW
    assert any("CentOS package" in note and "backported" in note for note in finding.notes)
    assert finding.evidence[0] == "nmap: 80/tcp http: Apache httpd 2.2.15 ((CentOS))"
    assert "version: 2.2.15 is <2.4" in finding.evidence
    assert (finding.host, finding.port, finding.protocol, finding.service) == (
        "127.0.0.10",
        80,
        "tcp",
        "http",
    )
    assert finding.category == "end-of-life"
    assert finding.trust.data_at_stake


def test_apache_2_2_upstream_is_eol_with_high_confidence(
    builtin_rules: tuple[Rule, ...],
) -> None:
    (finding,) = evaluate([apache("2.2.34")], [], builtin_rules)
    assert finding.rule_id == "apache-httpd-eol"
    assert finding.confidence is Confidence.HIGH
    assert not any("backported" in note for note in finding.notes)
    assert any("2026-08-22" in note for note in finding.notes)


def test_apache_2_4_49_is_outdated(builtin_rules: tuple[Rule, ...]) -> None:
    (finding,) = evaluate([apache("2.4.49")], [], builtin_rules)
    assert finding.rule_id == "apache-httpd-outdated"
    assert finding.severity is Severity.MEDIUM
    assert finding.confidence is Confidence.HIGH


@pytest.mark.parametrize("version", ["2.4.68", "2.4.71", ""])
def test_apache_newer_than_the_data_or_without_version(
    builtin_rules: tuple[Rule, ...], version: str
) -> None:
    assert evaluate([apache(version)], [], builtin_rules) == ()


def test_nginx_is_not_apache(builtin_rules: tuple[Rule, ...]) -> None:
    host = make_host(services=(make_service(product="nginx", version="1.0.15"),))
    assert evaluate([host], [], builtin_rules) == ()


def test_apache_with_only_major_minor_is_not_called_outdated(
    builtin_rules: tuple[Rule, ...],
) -> None:
    findings = evaluate([apache("2.4")], [], builtin_rules)
    assert not [
        f
        for f in findings
        if f.rule_id == "apache-httpd-outdated" and f.confidence is Confidence.HIGH
    ]


def test_one_finding_per_rule_and_port_sorted_by_severity(
    builtin_rules: tuple[Rule, ...],
) -> None:
    hosts = [
        make_host(address="127.0.0.11", services=(make_service(version="2.4.49"),)),
        make_host(
            address="127.0.0.10",
            services=(
                make_service(port=8080, version="2.4.49"),
                make_service(port=80, version="2.2.34"),
            ),
        ),
    ]
    findings = evaluate(hosts, [], builtin_rules)
    assert [(f.rule_id, f.host, f.port) for f in findings] == [
        ("apache-httpd-eol", "127.0.0.10", 80),
        ("apache-httpd-outdated", "127.0.0.10", 8080),
        ("apache-httpd-outdated", "127.0.0.11", 80),
    ]


def test_fingerprint_is_stable_and_port_specific(builtin_rules: tuple[Rule, ...]) -> None:
    first = evaluate([apache("2.4.49")], [], builtin_rules)
    second = evaluate([apache("2.4.49", "(Debian)")], [], builtin_rules)
    other_port = evaluate([apache("2.4.49", port=8080)], [], builtin_rules)
    assert first[0].fingerprint == second[0].fingerprint
    assert first[0].fingerprint != other_port[0].fingerprint
    assert first[0].fingerprint == fingerprint(
        "apache-httpd-outdated", "127.0.0.10", "tcp", 80, "apache-httpd"
    )


def test_fingerprint_depends_on_every_part() -> None:
    base = fingerprint("r", "127.0.0.1", "tcp", 80)
    assert (
        len(
            {
                base,
                fingerprint("s", "127.0.0.1", "tcp", 80),
                fingerprint("r", "127.0.0.2", "tcp", 80),
                fingerprint("r", "127.0.0.1", "udp", 80),
                fingerprint("r", "127.0.0.1", "tcp", None),
            }
        )
        == 5
    )
    assert base == fingerprint("r", "127.0.0.1", "tcp", 80)


# --- condition semantics, with rules written for the test ---------------------------

_RULE = """\
  - id: {rule_id}
    title: Condition test rule {rule_id}
    severity: {severity}
    match:
{match}
    description: A rule that exists to test condition semantics.
    remediation: Nothing to do; this rule only exists for a test.
    references: [https://example.org/{rule_id}]
    trust:
      data_at_stake: [test data]
      impact: Nothing at all, this is a test rule.
"""


def _rules(tmp_path: Path, conditions: dict[str, str], severity: str = "low") -> tuple[Rule, ...]:
    body = "".join(
        _RULE.format(
            rule_id=rule_id,
            severity=severity,
            match="\n".join("      " + line for line in match.strip("\n").splitlines()),
        )
        for rule_id, match in conditions.items()
    )
    (tmp_path / "test.yaml").write_text("rules:\n" + body, encoding="utf-8")
    return load_rules([tmp_path])


def _matches(
    rules: tuple[Rule, ...], host: Host, observations: tuple[Observation, ...] = ()
) -> set[str]:
    return {f.rule_id for f in evaluate([host], observations, rules)}


CONDITIONS = {
    "all-apache-80": "all:\n  - product: apache-httpd\n  - port: 80",
    "any-nginx-or-443": "any:\n  - product: nginx\n  - port: [443, 8443]",
    "not-http": "not:\n  service: http",
    "port-22": "port: 22",
    "cpe-apache": "cpe: cpe:/a:apache:http_server",
    "service-http-https": "service: [http, https]",
    "tunnel-ssl": "tunnel: ssl",
    "tunnel-none": "tunnel: none",
    "version-known": "version_known: true",
    "version-unknown": "version_known: false",
    "udp": "protocol: udp",
    "banner-header": "observation:\n  key: http.server_header",
    "trace-on": "observation:\n  key: http.trace\n  equals: enabled",
}


@pytest.fixture
def condition_rules(tmp_path: Path) -> tuple[Rule, ...]:
    return _rules(tmp_path, CONDITIONS)


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (
            {},
            {"all-apache-80", "cpe-apache", "service-http-https", "tunnel-none", "version-known"},
        ),
        (
            {
                "port": 443,
                "tunnel": "ssl",
                "product": "nginx",
                "version": "",
                "cpes": ("cpe:/a:igor_sysoev:nginx",),
            },
            {"any-nginx-or-443", "service-http-https", "tunnel-ssl", "version-unknown"},
        ),
        (
            {"port": 8443, "name": "https", "product": "", "version": "", "cpes": ()},
            {
                "any-nginx-or-443",
                "not-http",
                "service-http-https",
                "tunnel-none",
                "version-unknown",
            },
        ),
        (
            {
                "port": 22,
                "name": "ssh",
                "product": "OpenSSH",
                "version": "9.6.0 or later",
                "cpes": ("cpe:/a:openbsd:openssh",),
            },
            {"not-http", "port-22", "tunnel-none", "version-unknown"},
        ),
        (
            {
                "port": 80,
                "protocol": "udp",
                "name": "snmp",
                "product": "",
                "version": "",
                "cpes": (),
            },
            {"not-http", "tunnel-none", "version-unknown", "udp"},
        ),
        (
            {"cpes": ("CPE:/A:APACHE:HTTP_SERVER:2.4.62",)},
            {"all-apache-80", "cpe-apache", "service-http-https", "tunnel-none", "version-known"},
        ),
    ],
    ids=["apache-80", "nginx-tls-443", "https-8443", "ssh-range", "udp", "cpe-case"],
)
def test_condition_semantics(
    condition_rules: tuple[Rule, ...], service: dict[str, object], expected: set[str]
) -> None:
    host = make_host(services=(make_service(**service),))
    assert _matches(condition_rules, host) == expected


def test_observation_conditions(condition_rules: tuple[Rule, ...]) -> None:
    host = make_host()
    observations = (
        make_observation(),
        make_observation(key="http.trace", value="enabled", evidence=""),
    )
    matched = _matches(condition_rules, host, observations)
    assert {"banner-header", "trace-on"} <= matched


def test_observation_equals_must_match_value(condition_rules: tuple[Rule, ...]) -> None:
    observations = (make_observation(key="http.trace", value="disabled"),)
    assert "trace-on" not in _matches(condition_rules, make_host(), observations)


def test_observations_of_another_port_or_host_do_not_count(
    condition_rules: tuple[Rule, ...],
) -> None:
    observations = (
        make_observation(port=443),
        make_observation(host="127.0.0.99"),
    )
    assert "banner-header" not in _matches(condition_rules, make_host(), observations)


def test_observation_evidence_is_shown(tmp_path: Path) -> None:
    rules = _rules(tmp_path, {"trace-on": CONDITIONS["trace-on"]})
    observations = (
        make_observation(key="http.trace", value="enabled", evidence="TRACE / answered 200"),
    )
    (finding,) = evaluate([make_host()], observations, rules)
    assert "http: TRACE / answered 200" in finding.evidence


def test_all_collects_evidence_of_every_item(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        {
            "old-apache": "all:\n  - product: apache-httpd\n  - version: '<2.4.60'\n"
            "  - cpe: cpe:/a:apache",
        },
    )
    (finding,) = evaluate([make_host(services=(make_service(version="2.4.49"),))], [], rules)
    assert finding.evidence[1:] == (
        "product: Apache httpd (apache-httpd)",
        "version: 2.4.49 is <2.4.60",
        "cpe: cpe:/a:apache:http_server:2.4.62",
    )


def test_version_evidence_shows_how_the_banner_was_read(tmp_path: Path) -> None:
    rules = _rules(tmp_path, {"old-openssl": "version: '<1.0.2.post12'"})
    host = make_host(services=(make_service(product="OpenSSL", version="1.0.2k"),))
    (finding,) = evaluate([host], [], rules)
    assert "version: 1.0.2k (read as 1.0.2.post11) is <1.0.2.post12" in finding.evidence


def test_version_condition_on_a_range_does_not_match(tmp_path: Path) -> None:
    rules = _rules(tmp_path, {"old": "version: '<99'", "not-old": "not:\n  version: '<99'"})
    host = make_host(services=(make_service(version="9.6.0 or later"),))
    assert _matches(rules, host) == {"not-old"}


def test_prerelease_versions_are_compared(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        {
            "rc-of-1.3.6": "version: '>=1.3.6rc1,<1.3.7'",
            "after-1.3.6": "version: '>=1.3.6'",
        },
    )
    host = make_host(services=(make_service(product="ProFTPD", version="1.3.6rc2"),))
    assert _matches(rules, host) == {"rc-of-1.3.6"}


def test_release_candidate_is_older_than_its_release(tmp_path: Path) -> None:
    rules = _rules(tmp_path, {"before-1.3.6": "version: '<1.3.6'"})
    host = make_host(services=(make_service(product="ProFTPD", version="1.3.6rc2"),))
    assert _matches(rules, host) == {"before-1.3.6"}


def test_distro_lowers_confidence_only_when_version_was_used(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        {"by-version": "version: '<2.4'", "by-product": "product: apache-httpd"},
        severity="high",
    )
    host = make_host(services=(make_service(version="2.2.15", extrainfo="(CentOS)"),))
    confidence = {f.rule_id: f.confidence for f in evaluate([host], [], rules)}
    assert confidence == {"by-version": Confidence.LOW, "by-product": Confidence.HIGH}


def test_any_stops_at_first_match_and_keeps_its_evidence(tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        {
            "either": "any:\n  - product: nginx\n  - product: apache-httpd\n  - cpe: cpe:/a",
        },
    )
    (finding,) = evaluate([make_host()], [], rules)
    assert finding.evidence[1:] == ("product: Apache httpd (apache-httpd)",)


def test_no_services_no_findings(condition_rules: tuple[Rule, ...]) -> None:
    assert evaluate([make_host(services=())], [], condition_rules) == ()


def _posture(value: str, answering: int, host: str = DEFAULT_ADDRESS) -> tuple[Observation, ...]:
    return (
        make_observation(
            host=host, port=None, probe="firewall", key="firewall.posture", value=value, evidence=""
        ),
        make_observation(
            host=host,
            port=None,
            probe="firewall",
            key="firewall.answering_ports",
            value=str(answering),
            evidence="",
        ),
    )


_HOST_RULE = """\
rules:
  - id: no-filter
    title: No packet filter on the host
    severity: medium
    scope: host
    match:
      all:
        - host_observation: {key: firewall.posture, equals: unfiltered}
        - host_observation: {key: firewall.answering_ports, at_least: 100}
    description: A host rule, matched once per host against host observations.
    remediation: Put a filter in front of the host; this is a test rule.
    references: [https://example.org/host]
    trust: {data_at_stake: [everything], impact: A test rule that matters to nobody.}
  - id: web-reachable
    title: Web server reachable
    severity: low
    match:
      all:
        - state: open
        - service: http
    raise_severity:
      - when: {host_observation: {key: firewall.posture, equals: unfiltered}}
        severity: high
        because: nothing filters the host, so the test says high.
      - when: {port: 80}
        severity: medium
        because: port 80 is the test's medium case.
    description: A service rule raised by a fact about its host.
    remediation: Filter the web server; this is a test rule.
    references: [https://example.org/raise]
    trust: {data_at_stake: [everything], impact: A test rule that matters to nobody.}
"""


def _host_rules(tmp_path: Path) -> tuple[Rule, ...]:
    (tmp_path / "host.yaml").write_text(_HOST_RULE, encoding="utf-8")
    return load_rules([tmp_path])


def test_host_rule_matches_once_per_host_without_a_port(tmp_path: Path) -> None:
    host = make_host(services=(make_service(port=80), make_service(port=443)))
    findings = evaluate([host], _posture("unfiltered", 998), _host_rules(tmp_path))
    (finding,) = [f for f in findings if f.rule_id == "no-filter"]
    assert (finding.port, finding.protocol, finding.service) == (None, "", "")
    assert "firewall: firewall.answering_ports = 998" in finding.evidence


def test_host_rule_threshold_and_other_hosts(tmp_path: Path) -> None:
    rules = _host_rules(tmp_path)
    assert "no-filter" not in _matches(rules, make_host(), _posture("unfiltered", 99))
    other = _posture("unfiltered", 999, host="127.0.0.99")
    assert "no-filter" not in _matches(rules, make_host(), other)
    # A host with no services still gets host findings.
    assert "no-filter" in _matches(rules, make_host(services=()), _posture("unfiltered", 100))


def test_raise_severity_takes_the_highest_that_holds(tmp_path: Path) -> None:
    rules = _host_rules(tmp_path)
    web = [f for f in evaluate([make_host()], (), rules) if f.rule_id == "web-reachable"]
    assert web[0].severity is Severity.MEDIUM
    assert web[0].notes[0].startswith("Severity raised from low to medium: port 80")
    raised = evaluate([make_host()], _posture("unfiltered", 5), rules)
    (finding,) = [f for f in raised if f.rule_id == "web-reachable"]
    assert finding.severity is Severity.HIGH
    assert "nothing filters the host" in finding.notes[0]
    assert "firewall: firewall.posture = unfiltered" in finding.evidence
    on_8080 = make_host(services=(make_service(port=8080),))
    (plain,) = [f for f in evaluate([on_8080], (), rules) if f.rule_id == "web-reachable"]
    assert plain.severity is Severity.LOW
    assert plain.notes == ()


def test_state_condition(tmp_path: Path) -> None:
    rules = _host_rules(tmp_path)
    filtered = make_host(services=(make_service(state="open|filtered"),))
    assert "web-reachable" not in _matches(rules, filtered)


def test_versions_in_http_headers_feed_the_version_rules() -> None:
    rules = load_rules([builtin_rules_dir()])
    # nmap saw only "nginx"; the probe read PHP from X-Powered-By.
    service = make_service(product="nginx", version="", cpes=())
    observations = (
        make_observation(key="http.powered_by", value="PHP/5.3.3", evidence="X-Powered-By"),
        make_observation(key="http.server_header", value="nginx", evidence="Server"),
    )
    found = {f.rule_id for f in evaluate([make_host(services=(service,))], observations, rules)}
    assert "php-eol" in found
    # Another port's headers do not count.
    elsewhere = tuple(make_observation(port=8080, key=o.key, value=o.value) for o in observations)
    found = {f.rule_id for f in evaluate([make_host(services=(service,))], elsewhere, rules)}
    assert "php-eol" not in found


def test_a_finding_appears_once_per_fingerprint_when_a_banner_names_several_products() -> None:
    # A LAMP banner names three products; web-plaintext-login does not look at
    # the product, so it matched once per product before.
    web = tuple(r for r in load_rules([builtin_rules_dir()]) if r.id == "web-plaintext-login")
    host = make_host(
        services=(
            make_service(
                product="Apache httpd",
                version="2.2.15",
                extrainfo="(CentOS) OpenSSL/1.0.1e-fips PHP/5.3.3",
            ),
        )
    )
    seen = [
        make_observation(key="http.server_header", value="Apache/2.2.15 (CentOS) PHP/5.3.3"),
        make_observation(key="http.redirects_to_https", value="no"),
        make_observation(key="http.session_cookie", value="PHPSESSID"),
    ]
    findings = evaluate([host], seen, web)
    assert ids(findings) == ["web-plaintext-login"]
    every = evaluate([host], seen, load_rules([builtin_rules_dir()]))
    prints = [f.fingerprint for f in every]
    assert len(prints) == len(set(prints))
