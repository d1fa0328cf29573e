"""JUnit XML: the golden file, the fail-on threshold, hostile text.

fixtures/golden/result.junit.xml is `make_result()` rendered with no threshold
(every finding fails) ; after an intended change rewrite it with
`TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from scanner.formats import OutputFormat, formatter_for
from scanner.formats.junit import JunitFormatter
from scanner.model import ScanResult, Severity
from tests.factories import make_result
from tests.scanner.formats.support import SCRIPT, assert_golden, hostile_result


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 -- our own output


def _render(result: ScanResult, fail_on: Severity | None = None) -> str:
    return formatter_for(OutputFormat.JUNIT, fail_on).format(result)


def test_golden() -> None:
    assert_golden("result.junit.xml", _render(make_result()))


def test_one_suite_a_host_one_case_a_finding() -> None:
    result = make_result()
    root = _parse(_render(result))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["trustscan.127.0.0.10", "trustscan.127.0.0.11"]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(result.findings)
    assert root.get("tests") == str(len(result.findings))
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert ("trustscan.127.0.0.11", "mariadb-exposed 127.0.0.11:3306") in names


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
