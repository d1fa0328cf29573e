"""SARIF 2.1.0: the golden file, the official schema, what GitHub code scanning needs.

fixtures/golden/result.sarif is `make_result()` rendered; after an intended
change rewrite it with `TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner.formats import OutputFormat, formatter_for
from scanner.formats.sarif import automation_id
from scanner.model import (
    Acceptance,
    BaselineComparison,
    BaselineState,
    Finding,
    KnownExploited,
    ScanResult,
    Severity,
    Vulnerability,
)
from tests.factories import make_finding, make_host, make_probe_error, make_result, make_service
from tests.scanner.formats.support import HOSTILE, assert_golden, hostile_result

SCHEMA = Path("/work/shared/data/sarif/sarif-schema-2.1.0.json")


def _render(result: ScanResult, category: str = "") -> str:
    return formatter_for(OutputFormat.SARIF, sarif_category=category).format(result)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate(log: dict[str, Any]) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"the SARIF schema is not at {SCHEMA}")
    errors = sorted(_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_golden() -> None:
    assert_golden("result.sarif", _render(make_result()))


def test_the_fixed_result_is_valid_sarif() -> None:
    _validate(json.loads(_render(make_result())))


def test_every_result_has_what_github_code_scanning_needs() -> None:
    result = make_result()
    log = json.loads(_render(result))
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({f.rule_id for f in result.findings})
    for rule in rules:
        # No finding here has a CVSS: no score is made up for GitHub to read.
        assert "security-severity" not in rule["properties"]
    assert len(run["results"]) == len(result.findings)
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        (location,) = res["locations"]
        physical = location["physicalLocation"]
        assert physical["region"]["startLine"] == 1
        assert ":" not in physical["artifactLocation"]["uri"]  # no URI scheme
        assert res["partialFingerprints"]["trustscan/v1"]
    fingerprints = {r["partialFingerprints"]["trustscan/v1"] for r in run["results"]}
    assert fingerprints == {f.fingerprint for f in result.findings}


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (Severity.CRITICAL, "error"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "note"),
        (Severity.INFO, "note"),
    ],
)
def test_level_follows_severity_and_no_score_is_made_up(severity: Severity, level: str) -> None:
    log = json.loads(_render(make_result(findings=(make_finding(severity=severity),))))
    _validate(log)
    (run,) = log["runs"]
    (res,) = run["results"]
    assert res["level"] == level
    assert res["properties"]["severity"] == severity.value
    assert "security-severity" not in res["properties"]
    assert "security-severity" not in run["tool"]["driver"]["rules"][0]["properties"]


def test_the_real_cvss_score_is_the_security_severity() -> None:
    vulns = (
        Vulnerability("CVE-2021-41773", Severity.HIGH, 7.5, "CVSS:3.1/AV:N"),
        Vulnerability("CVE-2021-42013", Severity.CRITICAL, 9.8, "CVSS:3.1/AV:N"),
        Vulnerability("CVE-0000-0000", Severity.LOW),
    )
    finding = make_finding(severity=Severity.HIGH, vulnerabilities=vulns)
    log = json.loads(_render(make_result(findings=(finding,))))
    _validate(log)
    (run,) = log["runs"]
    # The rule is every host's: its findings' scores differ from host to host.
    assert "security-severity" not in run["tool"]["driver"]["rules"][0]["properties"]
    properties = run["results"][0]["properties"]
    assert properties["cvss"] == 9.8
    assert properties["security-severity"] == "9.8"
    assert [(v["id"], v["cvss"]) for v in properties["vulnerabilities"]] == [
        ("CVE-2021-41773", 7.5),
        ("CVE-2021-42013", 9.8),
        ("CVE-0000-0000", "no CVSS in the data"),
    ]


def test_known_vulnerabilities_without_cvss_have_no_security_severity() -> None:
    """The Apache project's records carry no CVSS: none is shown, and none invented."""
    kev = KnownExploited("2021-11-03", "2021-11-17", "Known", "2025.08.25")
    vulns = (
        Vulnerability(
            "CVE-2021-41773", Severity.CRITICAL, vendor_severity="critical", exploited=kev
        ),
        Vulnerability("CVE-2021-40438", Severity.CRITICAL, vendor_severity="critical"),
    )
    finding = make_finding(severity=Severity.CRITICAL, vulnerabilities=vulns)
    log = json.loads(_render(make_result(findings=(finding,))))
    _validate(log)
    (run,) = log["runs"]
    assert "security-severity" not in run["tool"]["driver"]["rules"][0]["properties"]
    (res,) = run["results"]
    properties = res["properties"]
    assert "security-severity" not in properties
    assert "cvss" not in properties
    assert res["level"] == "error"
    assert [v["cvss"] for v in properties["vulnerabilities"]] == ["no CVSS in the data"] * 2
    assert properties["vulnerabilities"][0]["knownExploited"] == {
        "catalog": "CISA KEV",
        "dateAdded": "2021-11-03",
        "dueDate": "2021-11-17",
    }
    assert "knownExploited" not in properties["vulnerabilities"][1]


def test_each_result_has_its_own_security_severity() -> None:
    """One rule, two findings: the rule shows none (it would be one host's), each result its own."""
    worse = make_finding(
        port=443, vulnerabilities=(Vulnerability("CVE-2021-41773", Severity.HIGH, 7.5),)
    )
    log = json.loads(_render(make_result(findings=(make_finding(port=80), worse))))
    _validate(log)
    (run,) = log["runs"]
    assert "security-severity" not in run["tool"]["driver"]["rules"][0]["properties"]
    by_port = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["properties"]
        for r in run["results"]
    }
    assert by_port["host/127.0.0.10/tcp/443"]["security-severity"] == "7.5"
    assert "security-severity" not in by_port["host/127.0.0.10/tcp/80"]  # medium, no CVSS


def test_an_ipv6_host_level_finding_has_a_relative_uri() -> None:
    finding = make_finding(host="::1", port=None)
    log = json.loads(_render(make_result(findings=(finding,))))
    _validate(log)
    location = log["runs"][0]["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "host/%3A%3A1"
    assert location["logicalLocations"][0]["name"] == "::1"


def test_hostile_text_is_data() -> None:
    text = _render(hostile_result())
    log = json.loads(text)
    _validate(log)
    assert "\x00" not in text
    res = log["runs"][0]["results"][0]
    assert res["properties"]["evidence"] == [f"nmap: {HOSTILE}"]
    assert HOSTILE in res["message"]["text"]


def _known_vulnerabilities(host: str, version: str, cves: dict[str, float | None]) -> Finding:
    """A grouped finding as `rule_engine.findings.grouped_finding` builds it:
    title, description, remediation and references are this host's."""
    vulns = tuple(
        Vulnerability(cve, Severity.CRITICAL if (score or 0) >= 9 else Severity.HIGH, score)
        for cve, score in cves.items()
    )
    worst = vulns[0]
    shown = f", CVSS {worst.cvss_score:g}" if worst.cvss_score is not None else ""
    return make_finding(
        rule_id="apache-httpd-known-vulnerabilities",
        host=host,
        port=80,
        severity=worst.severity,
        title=f"Apache httpd {version} has {len(vulns)} known vulnerabilities "
        f"(worst: {worst.id}, {worst.severity.value}{shown})",
        description=f"The version this service reports is one that published advisories list "
        f"as affected by {len(vulns)} known vulnerabilities.",
        remediation=f"Upgrade to Apache httpd 2.4.{int(version.rsplit('.', 1)[1]) + 10} or later.",
        references=tuple(f"https://www.cve.org/CVERecord?id={cve}" for cve in cves),
        category="vulnerability",
        subject="apache-httpd",
        vulnerabilities=vulns,
    )


def _two_apaches() -> tuple[Finding, Finding]:
    return (
        _known_vulnerabilities(
            "127.0.0.10", "2.4.49", {"CVE-2021-41773": 9.8, "CVE-2021-42013": 9.8}
        ),
        _known_vulnerabilities("127.0.0.12", "2.4.54", {"CVE-2022-36760": None}),
    )


def _rules(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}


def test_a_rule_says_the_same_whichever_hosts_it_was_found_on() -> None:
    """The bug: "Apache httpd 2.4.49 has 47 known vulnerabilities", 9.5, for every Apache host."""
    first, second = _two_apaches()
    logs = [
        json.loads(_render(make_result(hosts=(), findings=findings)))
        for findings in ((first, second), (second, first), (first,), (second,))
    ]
    for log in logs:
        _validate(log)
    rules = [_rules(log)["apache-httpd-known-vulnerabilities"] for log in logs]
    assert all(rule == rules[0] for rule in rules)
    rule = rules[0]
    texts = json.dumps([rule["shortDescription"], rule["fullDescription"], rule["help"]])
    for specific in ("2.4.49", "2.4.54", "CVE-", "2.4.59", "2.4.64", "9.8"):
        assert specific not in texts
    assert rule["shortDescription"]["text"] == "apache-httpd: a version with known vulnerabilities"
    assert "security-severity" not in rule["properties"]
    assert "defaultConfiguration" not in rule
    assert "helpUri" not in rule  # the references are one host's CVEs


def test_each_result_carries_its_hosts_version_cves_and_severity() -> None:
    first, second = _two_apaches()
    log = json.loads(_render(make_result(hosts=(), findings=(first, second))))
    by_host = {
        r["locations"][0]["logicalLocations"][0]["name"]: r for r in log["runs"][0]["results"]
    }
    one, two = by_host["127.0.0.10:80"], by_host["127.0.0.12:80"]
    assert one["message"]["text"] != two["message"]["text"]
    assert one["message"]["text"].startswith(
        "Apache httpd 2.4.49 has 2 known vulnerabilities (worst: CVE-2021-41773, critical, "
        "CVSS 9.8) on 127.0.0.10:80/tcp. Upgrade to Apache httpd 2.4.59 or later."
    )
    assert "Apache httpd 2.4.54 has 1 known vulnerabilities" in two["message"]["text"]
    assert "2.4.64 or later" in two["message"]["text"]
    assert (one["level"], two["level"]) == ("error", "error")
    assert one["properties"]["security-severity"] == "9.8"
    assert "security-severity" not in two["properties"]  # no CVSS in its data: none made up
    assert [v["id"] for v in two["properties"]["vulnerabilities"]] == ["CVE-2022-36760"]
    assert two["properties"]["remediation"] == "Upgrade to Apache httpd 2.4.64 or later."


def test_a_rule_written_in_yaml_keeps_its_own_texts_and_messages_name_the_endpoint() -> None:
    findings = (make_finding(host="127.0.0.10"), make_finding(host="127.0.0.12"))
    log = json.loads(_render(make_result(findings=findings)))
    _validate(log)
    rule = _rules(log)["apache-httpd-outdated"]
    assert rule["shortDescription"]["text"] == findings[0].title
    assert rule["fullDescription"]["text"] == findings[0].description
    assert rule["help"]["text"] == findings[0].remediation
    assert rule["helpUri"] == findings[0].references[0]
    messages = [r["message"]["text"] for r in log["runs"][0]["results"]]
    assert messages == [
        f"{findings[0].title} on 127.0.0.10:80/tcp. Trust impact: {findings[0].trust.impact}",
        f"{findings[0].title} on 127.0.0.12:80/tcp. Trust impact: {findings[0].trust.impact}",
    ]


def test_no_placeholder_information_uri() -> None:
    text = _render(make_result())
    assert "informationUri" not in json.loads(text)["runs"][0]["tool"]["driver"]
    assert ".invalid" not in text.replace("e.invalid", "")


def test_automation_details_name_the_target_set() -> None:
    one = make_result(targets=("127.0.0.10", "127.0.0.11"))
    same = make_result(targets=("127.0.0.11", "127.0.0.10", "127.0.0.11"))
    other = make_result(targets=("10.0.0.0/24",))
    ids = [json.loads(_render(r))["runs"][0]["automationDetails"]["id"] for r in (one, same, other)]
    assert re.fullmatch(r"trustscan/targets-[0-9a-f]{16}/", ids[0])
    assert ids[0] == ids[1]  # order and repeats do not matter
    assert ids[0] != ids[2]
    # A report of a part has a scope of its own: uploading it must not close
    # the alerts of the hosts it left out.
    part = make_result(targets=one.targets, selection="hosts 127.0.0.10")
    assert automation_id(part) not in (ids[0], ids[2])
    log = json.loads(_render(one, "nightly/dmz"))
    _validate(log)
    assert log["runs"][0]["automationDetails"]["id"] == "trustscan/nightly/dmz/"


def test_partial_fingerprints_are_the_findings_fingerprints() -> None:
    result = make_result()
    log = json.loads(_render(result))
    got = [r["partialFingerprints"] for r in log["runs"][0]["results"]]
    assert sorted(fp["trustscan/v1"] for fp in got) == sorted(
        f.fingerprint for f in result.findings
    )


def test_baseline_state_comes_from_the_finding() -> None:
    fixed = make_finding(rule_id="gone-rule", port=8443)
    findings = (
        make_finding(port=80, baseline=BaselineState.NEW),
        make_finding(port=443, baseline=BaselineState.CHANGED),
        make_finding(port=8080, baseline=BaselineState.UNCHANGED),
    )
    comparison = BaselineComparison(
        "old.json", "2026-11-01T10:00:00+00:00", new=1, changed=1, unchanged=1, fixed=(fixed,)
    )
    log = json.loads(_render(make_result(findings=findings, baseline=comparison)))
    _validate(log)
    (run,) = log["runs"]
    states = {
        r["locations"][0]["logicalLocations"][0]["name"]: r["baselineState"] for r in run["results"]
    }
    assert states == {
        "127.0.0.10:80": "new",
        "127.0.0.10:443": "updated",
        "127.0.0.10:8080": "unchanged",
    }
    # A fixed finding is counted, not written as an "absent" result GitHub would open.
    assert len(run["results"]) == 3
    assert "gone-rule" not in _rules(log)
    assert run["properties"]["baseline"]["fixed"] == 1
    without = json.loads(_render(make_result()))
    assert all("baselineState" not in r for r in without["runs"][0]["results"])


def test_an_accepted_risk_is_suppressed_an_expired_one_is_not() -> None:
    accepted = Acceptance("ops@example.test", "2026-12-31", "VPN only", "accepted.yaml:2")
    expired = Acceptance("ops@example.test", "2026-01-31", "old", "accepted.yaml:5", expired=True)
    findings = (make_finding(port=80, accepted=accepted), make_finding(port=443, accepted=expired))
    log = json.loads(_render(make_result(findings=findings)))
    _validate(log)
    first, second = log["runs"][0]["results"]
    assert first["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "VPN only (accepted by ops@example.test until 2026-12-31, "
            "accepted.yaml:2)",
        }
    ]
    assert "suppressions" not in second
    assert second["properties"]["acceptanceExpired"]["source"] == "accepted.yaml:5"


def test_what_was_not_covered_is_a_notification() -> None:
    errors = (
        make_probe_error(
            stage="discovery", target="batch 2 (10.0.0.9)", reason="timeout", port=None
        ),
        make_probe_error(stage="probe:tls", port=443),
    )
    log = json.loads(_render(make_result(probe_errors=errors)))
    _validate(log)
    (invocation,) = log["runs"][0]["invocations"]
    notes = invocation["toolExecutionNotifications"]
    assert [n["properties"] for n in notes] == [
        {"stage": "discovery", "reason": "timeout"},
        {"stage": "probe:tls", "reason": "timeout"},
    ]
    assert notes[1]["message"]["text"].startswith("not covered: probe:tls 127.0.0.11:443: timeout")
    clean = json.loads(_render(make_result(probe_errors=())))
    assert "toolExecutionNotifications" not in clean["runs"][0]["invocations"][0]


def test_everything_new_is_valid_sarif_together() -> None:
    first, second = _two_apaches()
    accepted = Acceptance("a@example.test", "2026-12-31", "why", "f:1")
    result = make_result(
        hosts=(make_host(),),
        findings=(
            first,
            replace(second, baseline=BaselineState.CHANGED, accepted=accepted),
        ),
        baseline=BaselineComparison("b.json", "2026-11-01", changed=1),
    )
    _validate(json.loads(_render(result, "x")))


def test_the_rule_engines_own_findings_share_one_rule_text() -> None:
    """The findings as the built-in rules make them for two Apache versions."""
    from scanner.rule_engine.loader import load_rules
    from scanner.rule_engine.rules import evaluate
    from scanner.support.resources import builtin_rules_dir

    hosts = tuple(
        make_host(
            address=address,
            services=(
                make_service(version=version, cpes=(f"cpe:/a:apache:http_server:{version}",)),
            ),
        )
        for address, version in (("127.0.0.10", "2.4.49"), ("127.0.0.12", "2.4.54"))
    )
    findings = tuple(evaluate(hosts, (), load_rules([builtin_rules_dir()])))
    grouped = [f for f in findings if f.rule_id == "apache-httpd-known-vulnerabilities"]
    assert len(grouped) == 2
    assert grouped[0].title != grouped[1].title  # the finding's own text is per host
    alone = [
        _rules(
            json.loads(
                _render(
                    make_result(
                        hosts=(h,), findings=tuple(f for f in findings if f.host == h.address)
                    )
                )
            )
        )
        for h in hosts
    ]
    both = json.loads(_render(make_result(hosts=hosts, findings=findings)))
    _validate(both)
    assert alone[0] == alone[1] == _rules(both)
    messages = {
        r["locations"][0]["logicalLocations"][0]["name"]: r["message"]["text"]
        for r in both["runs"][0]["results"]
        if r["ruleId"] == "apache-httpd-known-vulnerabilities"
    }
    assert "2.4.49" in messages["127.0.0.10:80"]
    assert "2.4.54" not in messages["127.0.0.10:80"]
    assert "2.4.54" in messages["127.0.0.12:80"]
    assert "2.4.49" not in messages["127.0.0.12:80"]
