"""JUnit XML, for CI systems that show test results: one suite a host, one case
a rule on that host.

A test case is named by its rule (classname `trustscan.<host>`) and covers all
that rule's findings on the host, on every port. It fails only when one of
them trips the exit gate (`--fail-on`, `--fail-on-new`: the formatter is
handed the gate's judgement), so the tests are red exactly when the job is;
with no gate, every case passes. Its failure message is the rule's title
and its type the worst severity among the case's findings. The failure text
lists each finding (endpoint, severity, confidence, baseline state, accepted
risk, evidence, fingerprint), then the trust impact and the remediation
once. A passing case keeps the same text in `<system-out>`. A case whose
findings are all accepted risks (and none expired) is `<skipped>`, with who
accepted it, until when and why.

Times: JUnit consumers need a `time` on every suite and case to parse the
file. A suite's is the scan's duration (`started` to `finished`): the hosts
were scanned side by side, each for as long as the scan. A case's is 0: a
finding is not a test that ran for a while, and a share of the scan's time
would be made up.

Built with ElementTree so that everything is escaped; characters XML 1.0
cannot carry (a banner's NUL, other C0 and C1 controls) are dropped first.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # builds XML, never parses any
from collections.abc import Callable
from datetime import datetime

from scanner.assessment.shown_paths import for_report
from scanner.formats._text import endpoint, ordered
from scanner.model import Finding, ScanResult, address_key

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


def _accepted(finding: Finding) -> bool:
    return finding.accepted is not None and not finding.accepted.expired


def _state(finding: Finding) -> list[str]:
    """The finding's baseline state and accepted risk, where it has them."""
    lines = []
    if finding.baseline is not None:
        lines.append(f"  baseline: {finding.baseline.value}")
    if finding.accepted is not None:
        accepted = finding.accepted
        status = "expired on" if accepted.expired else "accepted until"
        lines.append(
            f"  accepted risk: {status} {accepted.expires} by {accepted.owner}: "
            f"{accepted.reason} ({accepted.source})"
        )
    return lines


def _details(findings: list[Finding]) -> str:
    """`findings` are one rule's on one host, the worst first."""
    lines = [findings[0].title, f"{len(findings)} finding(s):"]
    for finding in findings:
        lines += [
            f"- {_where(finding)}",
            f"  severity: {finding.severity.value}, confidence: {finding.confidence.value}",
            *_state(finding),
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


def duration(result: ScanResult) -> float:
    """Seconds from `started` to `finished`; 0 when either is missing or unreadable."""
    try:
        seconds = (
            datetime.fromisoformat(result.finished) - datetime.fromisoformat(result.started)
        ).total_seconds()
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, seconds)


def _skip_reason(case: list[Finding]) -> str:
    accepted = [f.accepted for f in case if f.accepted is not None]
    said = _once(
        [f"accepted by {a.owner} until {a.expires}: {a.reason} ({a.source})" for a in accepted]
    )
    return xml_text("accepted risk: " + "; ".join(said))


class JunitFormatter:
    """`fails` says whether a finding trips the exit gate; None: none does."""

    def __init__(self, fails: Callable[[Finding], bool] | None = None) -> None:
        self.fails = fails

    def _fails(self, case: list[Finding]) -> bool:
        return self.fails is not None and any(self.fails(f) for f in case)

    def format(self, result: ScanResult) -> str:
        result = for_report(result)  # the scanning machine's paths, shown relative
        by_host: dict[str, list[Finding]] = {h.address: [] for h in result.hosts}
        for finding in result.findings:
            by_host.setdefault(finding.host, []).append(finding)
        seconds = f"{duration(result):.3f}"
        root = ET.Element("testsuites", name="trustscan")
        total = failures = skipped = 0
        for host in sorted(by_host, key=address_key):
            # (case, fails, skipped): a case is skipped when all its findings are
            # accepted risks and none trips the gate (an expired one does).
            cases = [
                (case, fails, not fails and all(map(_accepted, case)))
                for case in _cases(by_host[host])
                for fails in (self._fails(case),)
            ]
            failed = sum(1 for _, fails, _ in cases if fails)
            passed_over = sum(1 for _, _, skip in cases if skip)
            total += len(cases)
            failures += failed
            skipped += passed_over
            suite = ET.SubElement(
                root,
                "testsuite",
                name=xml_text(f"trustscan.{host}"),
                tests=str(len(cases)),
                failures=str(failed),
                errors="0",
                skipped=str(passed_over),
                time=seconds,
                timestamp=xml_text(result.started),
                hostname=xml_text(host),
            )
            for case, fails, skip in cases:
                worst = case[0]
                element = ET.SubElement(
                    suite,
                    "testcase",
                    classname=xml_text(f"trustscan.{host}"),
                    name=xml_text(worst.rule_id),
                    time="0",
                )
                if fails:
                    failure = ET.SubElement(
                        element,
                        "failure",
                        message=xml_text(worst.title),
                        type=worst.severity.value,
                    )
                    failure.text = _details(case)
                    continue
                if skip:
                    ET.SubElement(element, "skipped", message=_skip_reason(case))
                ET.SubElement(element, "system-out").text = _details(case)
        root.set("tests", str(total))
        root.set("failures", str(failures))
        root.set("skipped", str(skipped))
        root.set("time", seconds)
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
