"""SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.

What GitHub code scanning needs beyond the schema: a `ruleId` stable across
runs, `partialFingerprints` so an alert is matched between uploads (the
finding's `fingerprint`), a location with
`physicalLocation.artifactLocation.uri` and `region.startLine` on every
result, and one `automationDetails.id` per scope, so that uploads of
different target sets do not close each other's alerts. A network finding
has no file, so its artifact is a relative, repository-style path naming the
endpoint (`host/127.0.0.10/tcp/80`): upload-sarif rejects URIs with a scheme
it does not know (`tcp://...`). The host and port themselves are in
`logicalLocations`.

Rule and result. GitHub keeps one description a rule, whichever host it
came from, so a rule says only what is true wherever it matches: its
title, description, remediation and first reference, the same for every
finding of a rule written in YAML. A grouped finding of known
vulnerabilities (`apache-httpd-known-vulnerabilities`) is built per host:
its title, description, remediation and references name that host's
version, CVE count and fixed release, so its rule gets a generic text
instead. Each result's message says what was found where, with that host's
version, CVEs and (for a grouped finding) remedy.

Severity. A result's `level` is its finding's severity, and its
`security-severity` (a string score, 0.0-10.0, which GitHub reads as CVSS)
the highest real CVSS score of its known vulnerabilities; where the data
holds none, the property is left out rather than a score made up from the
severity. A rule carries neither a default level nor a `security-severity`:
a rule's findings differ in severity from host to host (escalations, CISA's
KEV list, the worst CVE of each version), and a rule-level value would be
some host's, shown for all. (GitHub reads `security-severity` from the rule
only, so it ranks these alerts by `level`: error, warning, note.)

Baseline and accepted risks. A result compared with a baseline carries
`baselineState` (`new`, `unchanged`, `updated` for a changed finding).
Findings of the baseline no longer found are not written as `absent`
results: GitHub does not read `baselineState` and would open an alert for
each; it closes an alert by itself when a later upload of the same category
no longer has it. Their count is in the run's properties. A finding accepted
as a risk (not expired) has an external, accepted `suppression` with the
reason, which GitHub shows as dismissed.

Scope. `automationDetails.id` is `trustscan/<scope>/`, the scope being
`--sarif-category` when given, else `targets-` and a digest of the sorted
targets (and of the part of them a `report --host/--min-severity` chose):
GitHub's category is the id up to its last `/`, so each target set keeps
its own alerts, run after run. Parts of the scan that did not happen
(probe errors) are `toolExecutionNotifications` of the invocation.

Everything a target sent is data here: json.dumps escapes it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from scanner import __version__
from scanner.assessment.scope import scope_of
from scanner.assessment.shown_paths import for_report
from scanner.formats._text import NO_CVSS, endpoint, max_cvss, ordered
from scanner.model import BaselineState, Finding, ProbeError, ScanResult, Severity, Vulnerability

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "trustscan/v1"
AUTOMATION_PREFIX = "trustscan"

_BASELINE_STATE = {
    BaselineState.NEW: "new",
    BaselineState.UNCHANGED: "unchanged",
    BaselineState.CHANGED: "updated",
}

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


GROUPED_SUFFIX = "-known-vulnerabilities"


def _grouped(rule_id: str, findings: list[Finding]) -> bool:
    """A rule whose findings are built per host from the CVEs of a version
    (`rule_engine.findings.grouped_finding`, `<product>-known-vulnerabilities`):
    only those list vulnerabilities."""
    return rule_id.endswith(GROUPED_SUFFIX) or any(f.vulnerabilities for f in findings)


def _rule_texts(rule_id: str, findings: list[Finding]) -> tuple[str, str, str, str]:
    """(short description, full description, help, help URI) true of every finding of the rule."""
    if _grouped(rule_id, findings):
        product = rule_id.removesuffix(GROUPED_SUFFIX)
        return (
            f"{product}: a version with known vulnerabilities",
            f"The version a service of {product} reports is one that published advisories "
            "list as affected by known vulnerabilities (each result names the version and "
            "its CVEs). Attackers scan for exactly these versions; public exploits exist "
            "for many of them.",
            "Upgrade to a release that fixes every vulnerability the result lists, or "
            "install your distribution's package that carries the fixes; each result "
            "names the release or package.",
            "",
        )
    first = findings[0]
    uri = next(iter(first.references), "")
    return (
        first.title,
        first.description or first.title,
        first.remediation or first.description or first.title,
        uri if uri.startswith(("https://", "http://")) else "",
    )


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    short, full, help_text, help_uri = _rule_texts(rule_id, findings)
    tags = [*sorted({f.category for f in findings if f.category}), "security"]
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": _rule_name(rule_id),
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": help_text},
        "properties": {"tags": tags},
    }
    if help_uri:
        rule["helpUri"] = help_uri
    return rule


def artifact_uri(finding: Finding) -> str:
    """A relative URI naming the endpoint: `host/127.0.0.10/tcp/80`."""
    parts = ["host", finding.host]
    if finding.port is not None:
        parts += [finding.protocol or "tcp", str(finding.port)]
    return "/".join(quote(p, safe="") for p in parts)


def _message(finding: Finding, grouped: bool) -> str:
    """What was found where: the finding's own title (a grouped one names the
    version and CVEs), its endpoint, its remedy when the rule's is generic."""
    where = endpoint(finding.host, finding.port)
    if finding.port is not None:
        where += f"/{finding.protocol or 'tcp'}"
    text = f"{finding.title} on {where}."
    if grouped and finding.remediation:
        text += f" {finding.remediation}"
    return f"{text} Trust impact: {finding.trust.impact}"


def _result(finding: Finding, rule_index: int, grouped: bool) -> dict[str, Any]:
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
    if grouped:
        properties["remediation"] = finding.remediation
        properties["references"] = list(finding.references)
    if finding.accepted is not None and finding.accepted.expired:
        properties["acceptanceExpired"] = {
            "expires": finding.accepted.expires,
            "source": finding.accepted.source,
        }
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": _message(finding, grouped)},
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
    if finding.baseline is not None:
        result["baselineState"] = _BASELINE_STATE[finding.baseline]
    if finding.accepted is not None and not finding.accepted.expired:
        accepted = finding.accepted
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": (
                    f"{accepted.reason} (accepted by {accepted.owner} until {accepted.expires}, "
                    f"{accepted.source})"
                ),
            }
        ]
    return result


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


def _notification(error: ProbeError) -> dict[str, Any]:
    where = endpoint(error.target, error.port)
    return {
        "level": "warning",
        "message": {"text": f"not covered: {error.stage} {where}: {error.reason}: {error.message}"},
        "properties": {"stage": error.stage, "reason": error.reason},
    }


def _invocation(result: ScanResult) -> dict[str, Any]:
    # The scan ran to its end; what it could not cover is said, not a failure.
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if result.started:
        invocation["startTimeUtc"] = result.started
    if result.finished:
        invocation["endTimeUtc"] = result.finished
    if result.probe_errors:
        invocation["toolExecutionNotifications"] = [_notification(e) for e in result.probe_errors]
    return invocation


def automation_id(result: ScanResult, category: str = "") -> str:
    """`trustscan/<scope>/`: the category given, else the result's scope
    (`scanner.assessment.scope`): GitHub's category is up to the last `/`."""
    return f"{AUTOMATION_PREFIX}/{scope_of(result, category)}/"


def _run_properties(result: ScanResult) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "targets": list(result.targets),
        "probeErrors": len(result.probe_errors),
    }
    if result.selection:
        properties["selection"] = result.selection
    if result.baseline is not None:
        properties["baseline"] = {
            "source": result.baseline.source,
            "taken": result.baseline.taken,
            "new": result.baseline.new,
            "changed": result.baseline.changed,
            "unchanged": result.baseline.unchanged,
            "fixed": len(result.baseline.fixed),
            "notRescanned": len(result.baseline.not_rescanned),
        }
    return properties


class SarifFormatter:
    """`category` names the scan's scope in `automationDetails` (`--sarif-category`)."""

    def __init__(self, category: str = "") -> None:
        self.category = category

    def format(self, result: ScanResult) -> str:
        result = for_report(result)  # the scanning machine's paths, shown relative
        findings = ordered(result.findings)
        by_rule: dict[str, list[Finding]] = {}
        for finding in findings:
            by_rule.setdefault(finding.rule_id, []).append(finding)
        rule_ids = sorted(by_rule)
        index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
        grouped = {rule_id: _grouped(rule_id, by_rule[rule_id]) for rule_id in rule_ids}
        run = {
            "tool": {
                "driver": {
                    "name": "trustscan",
                    "version": result.tool_version or __version__,
                    "rules": [_rule(r, by_rule[r]) for r in rule_ids],
                }
            },
            "automationDetails": {"id": automation_id(result, self.category)},
            "invocations": [_invocation(result)],
            "results": [_result(f, index[f.rule_id], grouped[f.rule_id]) for f in findings],
            "properties": _run_properties(result),
        }
        log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
        return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
