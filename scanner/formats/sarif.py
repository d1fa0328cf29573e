"""SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.

What GitHub code scanning needs beyond the schema: a `ruleId` stable across
runs, `partialFingerprints` so an alert is matched between uploads, a location
with `physicalLocation.artifactLocation.uri` and `region.startLine` on every
result. `security-severity` (a string score, 0.0-10.0, which GitHub reads as
CVSS) is the real CVSS score of a finding's known vulnerabilities, on the
result and (the highest of its results) on the rule; where the data holds no
CVSS, the property is left out rather than a score made up from the severity,
and the finding still has its `level` and its `severity` property. A
network finding has no file, so its artifact is a relative, repository-style
path naming the endpoint (`host/127.0.0.10/tcp/80`): upload-sarif rejects URIs
with a scheme it does not know (`tcp://...`). The host and port themselves are
in `logicalLocations`.

Everything a target sent is data here: json.dumps escapes it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from scanner import __version__
from scanner.formats._text import NO_CVSS, endpoint, max_cvss, ordered
from scanner.model import Finding, ScanResult, Severity, Vulnerability

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://trustscan.invalid/"
FINGERPRINT_KEY = "trustscan/v1"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def _rule_name(rule_id: str) -> str:
    """`apache-httpd-eol` -> `ApacheHttpdEol`: SARIF wants an identifier-like name."""
    parts = "".join(c if c.isalnum() else " " for c in rule_id).split()
    return "".join(p[:1].upper() + p[1:] for p in parts) or rule_id


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    first = findings[0]
    tags = [*sorted({f.category for f in findings if f.category}), "security"]
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": _rule_name(rule_id),
        "shortDescription": {"text": first.title},
        "fullDescription": {"text": first.description or first.title},
        "help": {"text": first.remediation or first.description or first.title},
        "defaultConfiguration": {
            "level": _LEVEL[max((f.severity for f in findings), key=lambda s: s.rank)]
        },
        "properties": {"tags": tags},
    }
    scored = [s for s in map(max_cvss, findings) if s is not None]
    if scored:
        rule["properties"]["security-severity"] = f"{max(scored):.1f}"
    if first.references and first.references[0].startswith(("https://", "http://")):
        rule["helpUri"] = first.references[0]
    return rule


def artifact_uri(finding: Finding) -> str:
    """A relative URI naming the endpoint: `host/127.0.0.10/tcp/80`."""
    parts = ["host", finding.host]
    if finding.port is not None:
        parts += [finding.protocol or "tcp", str(finding.port)]
    return "/".join(quote(p, safe="") for p in parts)


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "severity": finding.severity.value,
        "confidence": finding.confidence.value,
        "category": finding.category,
        "service": finding.service,
        "evidence": list(finding.evidence),
        "dataAtStake": list(finding.trust.data_at_stake),
    }
    if finding.notes:
        properties["notes"] = list(finding.notes)
    cvss = max_cvss(finding)
    if cvss is not None:
        properties["security-severity"] = f"{cvss:.1f}"
        properties["cvss"] = cvss
    if finding.vulnerabilities:
        properties["vulnerabilities"] = [_vulnerability(v) for v in finding.vulnerabilities]
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": f"{finding.title}. Trust impact: {finding.trust.impact}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(finding)},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {
                        "name": endpoint(finding.host, finding.port),
                        "fullyQualifiedName": (
                            f"{endpoint(finding.host, finding.port)}/{finding.protocol}"
                            if finding.port is not None
                            else finding.host
                        ),
                        "kind": "resource",
                    }
                ],
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": properties,
    }


def _vulnerability(vuln: Vulnerability) -> dict[str, Any]:
    """One known vulnerability: its CVSS, or that the data has none, and KEV."""
    item: dict[str, Any] = {"id": vuln.id, "severity": vuln.severity.value}
    if vuln.cvss_score is not None:
        item["cvss"] = vuln.cvss_score
        item["vector"] = vuln.cvss_vector
    else:
        item["cvss"] = NO_CVSS
    if vuln.exploited is not None:
        item["knownExploited"] = {
            "catalog": "CISA KEV",
            "dateAdded": vuln.exploited.added,
            "dueDate": vuln.exploited.due,
        }
    return item


def _invocation(result: ScanResult) -> dict[str, Any]:
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if result.started:
        invocation["startTimeUtc"] = result.started
    if result.finished:
        invocation["endTimeUtc"] = result.finished
    return invocation


class SarifFormatter:
    def format(self, result: ScanResult) -> str:
        findings = ordered(result.findings)
        by_rule: dict[str, list[Finding]] = {}
        for finding in findings:
            by_rule.setdefault(finding.rule_id, []).append(finding)
        rule_ids = sorted(by_rule)
        index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
        run = {
            "tool": {
                "driver": {
                    "name": "trustscan",
                    "version": result.tool_version or __version__,
                    "informationUri": INFORMATION_URI,
                    "rules": [_rule(r, by_rule[r]) for r in rule_ids],
                }
            },
            "invocations": [_invocation(result)],
            "results": [_result(f, index[f.rule_id]) for f in findings],
            "properties": {
                "targets": list(result.targets),
                "probeErrors": len(result.probe_errors),
            },
        }
        log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
        return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
