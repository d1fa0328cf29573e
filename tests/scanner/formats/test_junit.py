"""JUnit XML: the golden file, the gate, accepted risks, times, hostile text.

fixtures/golden/result.junit.xml is `make_result()` rendered with
`--fail-on high` (two cases fail, two pass); after an intended change rewrite
it with `TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scanner.formats import OutputFormat, formatter_for
from scanner.formats.junit import JunitFormatter
from scanner.model import Acceptance, BaselineComparison, BaselineState, ScanResult, Severity
from scanner.outputs.gate import FailOn, Gate
from tests.factories import DEFAULT_ADDRESS, make_finding, make_host, make_result
from tests.scanner.formats.support import SCRIPT, assert_golden, hostile_result


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 -- our own output


def _render(
    result: ScanResult, fail_on: Severity | None = Severity.INFO, gate: Gate | None = None
) -> str:
    """JUnit as `--fail-on SEVERITY` (or the gate given) writes it."""
    if gate is None:
        gate = Gate(FailOn(fail_on.value) if fail_on is not None else FailOn.NEVER)
    return formatter_for(OutputFormat.JUNIT, gate.judge(result)).format(result)


def _formatter(result: ScanResult, fail_on: Severity | None) -> JunitFormatter:
    gate = Gate(FailOn(fail_on.value) if fail_on is not None else FailOn.NEVER)
    return JunitFormatter(gate.judge(result))


def test_golden() -> None:
    assert_golden("result.junit.xml", _render(make_result(), Severity.HIGH))


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
        (None, False),  # --fail-on never: the job passes, and so do its tests
        (Severity.LOW, True),
        (Severity.HIGH, True),  # the high finding fails the case
        (Severity.CRITICAL, False),
    ],
)
def test_a_case_fails_when_one_of_its_findings_reaches_the_threshold(
    fail_on: Severity | None, fails: bool
) -> None:
    result = _two_ports_one_rule(Severity.LOW, Severity.HIGH, Severity.MEDIUM)
    root = _parse(_formatter(result, fail_on).format(result))
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
    [(None, 0), (Severity.INFO, 2), (Severity.LOW, 1), (Severity.CRITICAL, 0)],
)
def test_counts_are_cases_not_findings(fail_on: Severity | None, failed: int) -> None:
    result = _two_ports_one_rule(Severity.LOW, Severity.HIGH, Severity.MEDIUM)
    root = _parse(_formatter(result, fail_on).format(result))
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
        (None, set()),
        (Severity.INFO, {"critical", "high", "medium", "info"}),
        (Severity.MEDIUM, {"critical", "high", "medium"}),
        (Severity.HIGH, {"critical", "high"}),
        (Severity.CRITICAL, {"critical"}),
    ],
)
def test_findings_at_or_above_the_threshold_fail(
    fail_on: Severity | None, failed: set[str]
) -> None:
    root = _parse(_formatter(make_result(), fail_on).format(make_result()))
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


def test_with_no_gate_every_case_passes_with_its_findings_in_system_out() -> None:
    """The demo's bug: red tests on a green job (--fail-on never, exit 0)."""
    result = make_result()
    root = _parse(_render(result, None))
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "0", "0")
    for case in root.iter("testcase"):
        assert case.find("failure") is None
        out = case.find("system-out")
        assert out is not None
        assert "fingerprint: " in (out.text or "")


def test_fail_on_new_fails_only_the_cases_with_news() -> None:
    new = make_finding(severity=Severity.HIGH, baseline=BaselineState.NEW)
    old = make_finding(
        rule_id="ssh-banner", port=22, severity=Severity.CRITICAL, baseline=BaselineState.UNCHANGED
    )
    result = make_result(
        findings=(new, old),
        baseline=BaselineComparison("old.json", "2026-11-01", new=1, unchanged=1),
    )
    root = _parse(_render(result, gate=Gate(fail_on_new=FailOn.HIGH)))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["apache-httpd-outdated"].find("failure") is not None
    assert cases["ssh-banner"].find("failure") is None
    assert "baseline: unchanged" in (cases["ssh-banner"].findtext("system-out") or "")


def _accepted(expired: bool = False) -> Acceptance:
    return Acceptance(
        "web-team@example.test", "2026-12-31", "behind the VPN", "accepted.yaml:3", expired
    )


def test_accepted_risks_are_skipped_with_the_reason_expired_ones_fail() -> None:
    findings = (
        make_finding(severity=Severity.CRITICAL, accepted=_accepted()),
        make_finding(rule_id="old-risk", port=22, severity=Severity.HIGH, accepted=_accepted(True)),
        make_finding(rule_id="half", port=8080, severity=Severity.HIGH, accepted=_accepted()),
        make_finding(rule_id="half", port=8081, severity=Severity.LOW),
    )
    root = _parse(_render(make_result(findings=findings), Severity.HIGH))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    skipped = cases["apache-httpd-outdated"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == (
        "accepted risk: accepted by web-team@example.test until 2026-12-31: behind the VPN "
        "(accepted.yaml:3)"
    )
    assert cases["apache-httpd-outdated"].find("failure") is None
    expired = cases["old-risk"].find("failure")
    assert expired is not None
    assert "accepted risk: expired on 2026-12-31" in (expired.text or "")
    # One finding accepted, the other below the gate: passes, not skipped.
    assert cases["half"].find("skipped") is None
    assert cases["half"].find("failure") is None
    suite = root.find(f"testsuite[@hostname='{DEFAULT_ADDRESS}']")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    assert root.get("skipped") == "1"


def test_every_suite_and_case_has_a_time() -> None:
    result = make_result(started="2026-11-25T10:00:00+00:00", finished="2026-11-25T10:02:03+00:00")
    root = _parse(_render(result))
    assert root.get("time") == "123.000"
    suites = root.findall("testsuite")
    assert suites
    assert all(s.get("time") == "123.000" for s in suites)
    cases = list(root.iter("testcase"))
    assert cases
    assert all(c.get("time") == "0" for c in cases)
    unknown = _parse(_render(make_result(started="", finished="")))
    assert unknown.get("time") == "0.000"
