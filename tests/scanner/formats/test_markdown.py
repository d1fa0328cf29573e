"""The Markdown summary: the golden file, the top-20 cut, hostile text.

fixtures/golden/result.md is `make_result()` rendered; after an intended change
rewrite it with `TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from scanner.assessment.baseline import Baseline, compared
from scanner.formats import OutputFormat, formatter_for
from scanner.formats.markdown import md_text
from scanner.model import KnownExploited, ScanResult, Severity, Vulnerability
from tests.factories import (
    make_assessment,
    make_cost_estimate,
    make_customer_trust,
    make_finding,
    make_plan_step,
    make_result,
)
from tests.scanner.formats.support import (
    BASELINE_SOURCE,
    HOSTILE,
    assert_golden,
    compared_result,
    hostile_result,
)


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


# -- against the baseline, and accepted risks ----------------------------------------


def _section(text: str, heading: str) -> list[str]:
    """The bullet lines under `heading:` up to the next blank line after them."""
    lines = text.splitlines()
    start = lines.index(f"{heading}:") + 2
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def test_golden_compared_with_a_baseline() -> None:
    assert_golden("result-baseline.md", _render(compared_result()))


def test_the_baseline_line_says_what_is_new_changed_and_fixed_since_when() -> None:
    text = _render(compared_result())
    assert "**1 new, 1 changed, 1 fixed since 2026-11-18**" in text
    assert f"baseline {md_text(BASELINE_SOURCE)}; 2 unchanged; 1 finding not rescanned" in text
    new_table = text.split("New since the baseline:")[1].split("Changed:")[0]
    assert [_cells(r)[3] for r in _rows(new_table)[1:]] == ["mariadb-exposed"]
    (changed,) = _section(text, "Changed")
    assert "apache-httpd-eol" in changed
    assert changed.endswith("severity medium \u2192 high")
    (fixed,) = _section(text, "Fixed")
    assert "http-trace-enabled" in fixed
    (unknown,) = _section(text, "Not rescanned (not scanned again this time)")
    assert "127.0.0.12:6379" in unknown
    assert "redis-no-auth" not in fixed


def test_without_a_baseline_or_accepted_risks_nothing_is_said_of_them() -> None:
    text = _render(make_result())
    assert "since" not in text
    assert "Accepted risks" not in text
    assert "accepted" not in text


def test_accepted_risks_one_line_and_each_finding_marked() -> None:
    text = _render(compared_result())
    assert "**Accepted risks:** 1 accepted (1 expired, 2 stale entries) in accept.yaml." in text
    titles = {_cells(r)[3]: _cells(r)[2] for r in _rows(text) if len(_cells(r)) == 4}
    assert titles["ssh-banner"].endswith("(accepted by ops@example.test until 2027-03-31)")
    assert titles["apache-httpd-outdated"].endswith("(acceptance expired on 2026-11-01)")
    assert "accepted" not in titles["mariadb-exposed"]


def test_many_moved_findings_are_cut_and_counted() -> None:
    now = make_result(findings=tuple(make_finding(port=1000 + n) for n in range(25)))
    earlier = make_result(findings=tuple(make_finding(port=2000 + n) for n in range(12)))
    text = _render(compared(now, Baseline("b.json", earlier)))
    new_table = text.split("New since the baseline:")[1].split("Fixed:")[0]
    assert len(_rows(new_table)) == 1 + 20  # the header and twenty rows
    assert "… and 5 more new findings in the full report." in text
    fixed = _section(text, "Fixed")
    assert len(fixed) == 11
    assert fixed[-1] == "- … and 2 more in the full report"


def test_hostile_baseline_text_is_inert() -> None:
    hostile = hostile_result()
    earlier = replace(hostile, findings=(), finished=HOSTILE)
    text = _render(compared(hostile, Baseline(HOSTILE, earlier)))
    line = next(x for x in text.splitlines() if "since" in x)
    assert "<script" not in line
    assert "\x00" not in text
    assert md_text(HOSTILE) in line
