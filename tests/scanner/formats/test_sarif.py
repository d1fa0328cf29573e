"""SARIF 2.1.0: the golden file, the official schema, what GitHub code scanning needs.

fixtures/golden/result.sarif is `make_result()` rendered; after an intended
change rewrite it with `TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner.formats import OutputFormat, formatter_for
from scanner.model import KnownExploited, ScanResult, Severity, Vulnerability
from tests.factories import make_finding, make_result
from tests.scanner.formats.support import HOSTILE, assert_golden, hostile_result

SCHEMA = Path("/work/shared/data/sarif/sarif-schema-2.1.0.json")


def _render(result: ScanResult) -> str:
    return formatter_for(OutputFormat.SARIF).format(result)


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
    assert run["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == "9.8"
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
    """One rule, two findings: the rule shows the worst, each result its own."""
    worse = make_finding(
        port=443, vulnerabilities=(Vulnerability("CVE-2021-41773", Severity.HIGH, 7.5),)
    )
    log = json.loads(_render(make_result(findings=(make_finding(port=80), worse))))
    _validate(log)
    (run,) = log["runs"]
    assert run["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == "7.5"
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
