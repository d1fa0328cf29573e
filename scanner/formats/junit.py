"""JUnit XML, for CI systems that show test results: one suite a host, one case
a rule on that host.

A test case is named by its rule (classname `trustscan.<host>`) and covers all
that rule's findings on the host, on every port. It fails when one of them is
at or above the fail-on threshold (with no threshold, every case fails); its
failure message is the rule's title and its type the worst severity among the
case's findings. The failure text lists each finding (endpoint, severity,
confidence, evidence, fingerprint), then the trust impact and the remediation
once. A passing case keeps the same text in `<system-out>`.

Built with ElementTree so that everything is escaped; characters XML 1.0
cannot carry (a banner's NUL, other C0 and C1 controls) are dropped first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # builds XML, never parses any

from scanner.formats._text import endpoint, ordered
from scanner.model import Finding, ScanResult, Severity, address_key

# Not allowed in XML 1.0 (C0 controls but tab, LF, CR; surrogates; U+FFFE/FFFF),
# plus DEL and the C1 controls, which XML discourages and terminals obey.
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _where(finding: Finding) -> str:
    """`127.0.0.10:80/tcp`, or the host alone for a finding about the whole host."""
    if finding.port is None:
        return finding.host
    return f"{endpoint(finding.host, finding.port)}/{finding.protocol or 'tcp'}"


def _once(values: list[str]) -> list[str]:
    """The distinct values, in order: a rule's findings share their texts."""
    return list(dict.fromkeys(v for v in values if v))


def _details(findings: list[Finding]) -> str:
    """`findings` are one rule's on one host, the worst first."""
    lines = [findings[0].title, f"{len(findings)} finding(s):"]
    for finding in findings:
        lines += [
            f"- {_where(finding)}",
            f"  severity: {finding.severity.value}, confidence: {finding.confidence.value}",
            "  evidence:",
            *(f"    {e}" for e in finding.evidence),
            f"  fingerprint: {finding.fingerprint}",
        ]
    lines += [f"trust impact: {t}" for t in _once([f.trust.impact for f in findings])]
    lines += [f"remediation: {r}" for r in _once([f.remediation for f in findings])]
    return xml_text("\n".join(lines) + "\n")


def _cases(findings: list[Finding]) -> list[list[Finding]]:
    """One host's findings grouped by rule: the worst case first, then by rule id;
    within a case the order of `ordered` (worst first, then by port)."""
    by_rule: dict[str, list[Finding]] = {}
    for finding in ordered(findings):
        by_rule.setdefault(finding.rule_id, []).append(finding)
    return sorted(by_rule.values(), key=lambda case: (-case[0].severity.rank, case[0].rule_id))


class JunitFormatter:
    """`fail_on` is the lowest severity that fails a test case; None fails every case."""

    def __init__(self, fail_on: Severity | None = None) -> None:
        self.fail_on = fail_on

    def _fails(self, case: list[Finding]) -> bool:
        if self.fail_on is None:
            return True
        threshold = self.fail_on.rank
        return any(f.severity.rank >= threshold for f in case)

    def format(self, result: ScanResult) -> str:
        by_host: dict[str, list[Finding]] = {h.address: [] for h in result.hosts}
        for finding in result.findings:
            by_host.setdefault(finding.host, []).append(finding)
        root = ET.Element("testsuites", name="trustscan")
        total = failures = 0
        for host in sorted(by_host, key=address_key):
            cases = _cases(by_host[host])
            failed = sum(1 for case in cases if self._fails(case))
            total += len(cases)
            failures += failed
            suite = ET.SubElement(
                root,
                "testsuite",
                name=xml_text(f"trustscan.{host}"),
                tests=str(len(cases)),
                failures=str(failed),
                errors="0",
                skipped="0",
                timestamp=xml_text(result.started),
                hostname=xml_text(host),
            )
            for case in cases:
                worst = case[0]
                element = ET.SubElement(
                    suite,
                    "testcase",
                    classname=xml_text(f"trustscan.{host}"),
                    name=xml_text(worst.rule_id),
                )
                if self._fails(case):
                    failure = ET.SubElement(
                        element,
                        "failure",
                        message=xml_text(worst.title),
                        type=worst.severity.value,
                    )
                    failure.text = _details(case)
                else:
                    ET.SubElement(element, "system-out").text = _details(case)
        root.set("tests", str(total))
        root.set("failures", str(failures))
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
