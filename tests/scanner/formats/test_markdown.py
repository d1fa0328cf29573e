"""The Markdown summary: the golden file, the top-20 cut, hostile text.

fixtures/golden/result.md is `make_result()` rendered; after an intended change
rewrite it with `TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from scanner.formats import OutputFormat, formatter_for
from scanner.model import KnownExploited, ScanResult, Severity, Vulnerability
from tests.factories import (
    make_assessment,
    make_cost_estimate,
    make_customer_trust,
    make_finding,
    make_plan_step,
    make_result,
)
from tests.scanner.formats.support import HOSTILE, assert_golden, hostile_result


def _render(result: ScanResult) -> str:
    return formatter_for(OutputFormat.MARKDOWN).format(result)


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


def _cells(row: str) -> list[str]:
    """Split a table row on the pipes that are not backslash-escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_golden() -> None:
    assert_golden("result.md", _render(make_result()))


def test_golden_with_the_assessment() -> None:
    """Customers, duties and cost at stake, and the first steps of the plan."""
    assert_golden(
        "result-assessed.md", _render(replace(make_result(), assessment=make_assessment()))
    )


def test_hostile_plan_and_trust_text_is_inert() -> None:
    hostile = make_assessment(
        plan=(make_plan_step(remediation=HOSTILE, system=HOSTILE),),
        trust=make_customer_trust(cost=make_cost_estimate(source=HOSTILE, currency=HOSTILE)),
    )
    text = _render(replace(hostile_result(), assessment=hostile))
    assert "<script>" not in text
    assert "\x00" not in text
    assert "\\`code\\`" in text


def test_at_most_twenty_findings_and_how_many_more() -> None:
    findings = tuple(make_finding(port=1000 + n) for n in range(23))
    text = _render(make_result(findings=findings))
    table = [r for r in _rows(text) if "apache-httpd-outdated" in r]
    assert len(table) == 20
    assert "and 3 more findings" in text


def test_no_more_line_when_all_fit() -> None:
    assert "more finding" not in _render(make_result())


def test_hostile_text_renders_inert() -> None:
    text = _render(hostile_result())
    assert "<script" not in text
    assert "&lt;script&gt;" in text
    assert "\x00" not in text
    assert "\x9b" not in text
    (row,) = [r for r in _rows(text) if "Banner" in r]
    assert len(_cells(row)) == 4  # the banner's `|` did not add a cell
    for raw in ("`", "*", "_", "["):
        assert re.search(r"(?<!\\)" + re.escape(raw), _cells(row)[2]) is None, raw


def test_cvss_column_only_with_known_vulnerabilities() -> None:
    """A finding that lists CVEs shows their worst real CVSS, or that the data
    has none; without such findings the table has no CVSS column at all."""
    kev = KnownExploited("2021-11-03", "2021-11-17", "Known", "2025.08.25")
    apache = make_finding(
        rule_id="apache-httpd-known-vulnerabilities",
        severity=Severity.CRITICAL,
        vulnerabilities=(
            Vulnerability("CVE-2021-41773", Severity.CRITICAL, exploited=kev),
            Vulnerability("CVE-2021-40438", Severity.CRITICAL),
        ),
    )
    nginx = make_finding(
        rule_id="nginx-known-vulnerabilities",
        port=8080,
        vulnerabilities=(Vulnerability("CVE-2099-0001", Severity.HIGH, 9.8, "CVSS:3.1/AV:N"),),
    )
    plain = make_finding(port=443)
    text = _render(make_result(findings=(apache, nginx, plain)))
    assert "| Severity | Host | Finding | Rule | CVSS |" in text
    cvss = {_cells(r)[3]: _cells(r)[4] for r in _rows(text) if len(_cells(r)) == 5}
    assert cvss["apache-httpd-known-vulnerabilities"] == (
        "no CVSS in the data; 1 exploited in the wild (CISA KEV)"
    )
    assert cvss["nginx-known-vulnerabilities"] == "9.8"
    assert cvss["apache-httpd-outdated"] == "\u2013"
    assert "CVSS" not in _render(make_result(findings=(plain,)))
