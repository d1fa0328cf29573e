"""JUnit XML, for CI systems that show test results: one suite a host, one case a finding.

A finding at or above the fail-on threshold is a failed test case; one below it
passes, with its details in `<system-out>`. Built with ElementTree so that
everything is escaped; characters XML 1.0 cannot carry (a banner's NUL, other
C0 and C1 controls) are dropped first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # builds XML, never parses any

from scanner.formats._text import endpoint, ordered
from scanner.model import Finding, ScanResult, Severity
from scanner.rules import address_key

# Not allowed in XML 1.0 (C0 controls but tab, LF, CR; surrogates; U+FFFE/FFFF),
# plus DEL and the C1 controls, which XML discourages and terminals obey.
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _details(finding: Finding) -> str:
    lines = [
        f"{finding.title}",
        f"severity: {finding.severity.value}, confidence: {finding.confidence.value}",
        "evidence:",
        *(f"  {e}" for e in finding.evidence),
        f"trust impact: {finding.trust.impact}",
        f"remediation: {finding.remediation}",
        f"fingerprint: {finding.fingerprint}",
    ]
    return xml_text("\n".join(lines) + "\n")


class JunitFormatter:
    """`fail_on` is the lowest severity that fails its test case; None fails every finding."""

    def __init__(self, fail_on: Severity | None = None) -> None:
        self.fail_on = fail_on

    def _fails(self, finding: Finding) -> bool:
        return self.fail_on is None or finding.severity.rank >= self.fail_on.rank

    def format(self, result: ScanResult) -> str:
        by_host: dict[str, list[Finding]] = {h.address: [] for h in result.hosts}
        for finding in ordered(result.findings):
            by_host.setdefault(finding.host, []).append(finding)
        root = ET.Element("testsuites", name="trustscan")
        total = failures = 0
        for host in sorted(by_host, key=address_key):
            findings = by_host[host]
            failed = sum(1 for f in findings if self._fails(f))
            total += len(findings)
            failures += failed
            suite = ET.SubElement(
                root,
                "testsuite",
                name=xml_text(f"trustscan.{host}"),
                tests=str(len(findings)),
                failures=str(failed),
                errors="0",
                skipped="0",
                timestamp=xml_text(result.started),
                hostname=xml_text(host),
            )
            for finding in findings:
                case = ET.SubElement(
                    suite,
                    "testcase",
                    classname=xml_text(f"trustscan.{host}"),
                    name=xml_text(f"{finding.rule_id} {endpoint(host, finding.port)}"),
                )
                if self._fails(finding):
                    failure = ET.SubElement(
                        case,
                        "failure",
                        message=xml_text(finding.title),
                        type=finding.severity.value,
                    )
                    failure.text = _details(finding)
                else:
                    ET.SubElement(case, "system-out").text = _details(finding)
        root.set("tests", str(total))
        root.set("failures", str(failures))
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
