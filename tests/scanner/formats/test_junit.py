"""JUnit XML: the golden file, the fail-on threshold, hostile text.

fixtures/golden/result.junit.xml is `make_result()` rendered with no threshold
(every case fails); after an intended change rewrite it with
`TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scanner.formats import OutputFormat, formatter_for
from scanner.formats.junit import JunitFormatter
from scanner.model import ScanResult, Severity
from tests.factories import DEFAULT_ADDRESS, make_finding, make_host, make_result
from tests.scanner.formats.support import SCRIPT, assert_golden, hostile_result


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 -- our own output


def _render(result: ScanResult, fail_on: Severity | None = None) -> str:
    return formatter_for(OutputFormat.JUNIT, fail_on).format(result)


def test_golden() -> None:
    assert_golden("result.junit.xml", _render(make_result()))


def test_one_suite_a_host_one_case_a_rule() -> None:
    result = make_result()
    root = _parse(_render(result))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["trustscan.127.0.0.10", "trustscan.127.0.0.11"]
    cases = root.findall("testsuite/testcase")
    # make_result has one finding per rule and host.
    assert len(cases) == len(result.findings)
    assert root.get("tests") == str(len(result.findings))
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert ("trustscan.127.0.0.11", "mariadb-exposed") in names


def _two_ports_one_rule(*severities: Severity) -> ScanResult:
    """One rule found on ports 80, 443, ... of one host (one finding a severity),
    and one finding of another rule on the same host."""
    findings = [
        make_finding(port=port, severity=severity)
        for port, severity in zip((80, 443, 8080), severities, strict=False)
    ]
    other = make_finding(
        rule_id="ssh-banner", port=22, severity=Severity.INFO, title="SSH banner names it"
    )
    return make_result(hosts=(make_host(),), findings=(*findings, other))


def test_findings_of_one_rule_on_several_ports_are_one_case() -> None:
    result = _two_ports_one_rule(Severity.MEDIUM, Severity.MEDIUM)
    root = _parse(_render(result))
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")
    assert (root.get("tests"), root.get("failures")) == ("2", "2")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"apache-httpd-outdated", "ssh-banner"}
    case = cases["apache-httpd-outdated"]
    assert case.get("classname") == f"trustscan.{DEFAULT_ADDRESS}"
    failure = case.find("failure")
    assert failure is not None
    text = failure.text or ""
    for finding in result.findings[:2]:
        assert f"- {DEFAULT_ADDRESS}:{finding.port}/tcp\n" in text
        assert f"fingerprint: {finding.fingerprint}" in text
    assert "2 finding(s):" in text
    # Trust impact and remediation are the rule's: said once, not once a port.
    assert text.count("trust impact: ") == 1
    assert text.count("remediation: ") == 1


@pytest.mark.parametrize(
    ("fail_on", "fails"),
    [
        (None, True),
        (Severity.LOW, True),
        (Severity.HIGH, True),  # the high finding fails the case
        (Severity.CRITICAL, False),
    ],
)
def test_a_case_fails_when_one_of_its_findings_reaches_the_threshold(
    fail_on: Severity | None, fails: bool
) -> None:
    result = _two_ports_one_rule(Severity.LOW, Severity.HIGH, Severity.MEDIUM)
    root = _parse(JunitFormatter(fail_on).format(result))
    (case,) = [c for c in root.iter("testcase") if c.get("name") == "apache-httpd-outdated"]
    failure = case.find("failure")
    if not fails:
        assert failure is None
        details = case.find("system-out")
        assert details is not None
        assert (details.text or "").count("severity: ") == 3
        return
    assert failure is not None
    assert failure.get("type") == "high"  # the worst of low, high and medium
    assert failure.get("message") == result.findings[0].title
    text = failure.text or ""
    # Every finding is listed, the worst first, also those below the threshold.
    severities = [line.split(",")[0] for line in text.splitlines() if "severity: " in line]
    assert severities == ["  severity: high", "  severity: medium", "  severity: low"]


@pytest.mark.parametrize(
    ("fail_on", "failed"),
    [(None, 2), (Severity.INFO, 2), (Severity.LOW, 1), (Severity.CRITICAL, 0)],
)
def test_counts_are_cases_not_findings(fail_on: Severity | None, failed: int) -> None:
    result = _two_ports_one_rule(Severity.LOW, Severity.HIGH, Severity.MEDIUM)
    root = _parse(JunitFormatter(fail_on).format(result))
    (suite,) = root.findall("testsuite")
    assert suite.get("tests") == root.get("tests") == "2"
    assert suite.get("failures") == root.get("failures") == str(failed)
    assert len(root.findall("testsuite/testcase/failure")) == failed


def test_a_host_level_finding_names_the_host_alone() -> None:
    finding = make_finding(host="::1", port=None)
    root = _parse(_render(make_result(findings=(finding,))))
    failure = root.find("testsuite[@hostname='::1']/testcase/failure")
    assert failure is not None
    assert "\n- ::1\n" in (failure.text or "")


@pytest.mark.parametrize(
    ("fail_on", "failed"),
    [
        (None, {"critical", "high", "medium", "info"}),
        (Severity.INFO, {"critical", "high", "medium", "info"}),
        (Severity.MEDIUM, {"critical", "high", "medium"}),
        (Severity.HIGH, {"critical", "high"}),
        (Severity.CRITICAL, {"critical"}),
    ],
)
def test_findings_at_or_above_the_threshold_fail(
    fail_on: Severity | None, failed: set[str]
) -> None:
    root = _parse(JunitFormatter(fail_on).format(make_result()))
    failures = root.findall("testsuite/testcase/failure")
    assert {f.get("type") for f in failures} == failed
    assert root.get("failures") == str(len(failures))
    passing = [c for c in root.iter("testcase") if c.find("failure") is None]
    assert all(c.find("system-out") is not None for c in passing)


def test_hostile_text_is_escaped_and_control_characters_dropped() -> None:
    text = _render(hostile_result())
    root = _parse(text)  # parses: no XML-invalid characters left
    assert "<script" not in text
    assert "\x00" not in text
    assert "\x1b" not in text
    assert "\x9b" not in text
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert SCRIPT in (failure.get("message") or "")
    assert SCRIPT in (failure.text or "")
