"""The findings table printed when no output is asked for, and the coverage lines."""

from __future__ import annotations

import re

from scanner.assessment.risk import assessed
from scanner.model import (
    Acceptance,
    BaselineComparison,
    BaselineState,
    Confidence,
    ProbeError,
    Severity,
)
from scanner.outputs.coverage import EXAMPLES, coverage_lines
from scanner.outputs.table import MIN_TITLE, findings_table
from scanner.outputs.terminal import ELLIPSIS, one_line
from tests.factories import make_finding, make_result
from tests.scanner.formats.support import HOSTILE

# What must never reach a terminal: C0 and C1 controls (ESC, CSI), DEL, and
# the bidirectional overrides that reorder a line.
_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _rows(table: str) -> list[str]:
    return table.splitlines()[1:]


def test_header_and_one_row_a_finding_riskiest_first() -> None:
    result = assessed(make_result())
    table = findings_table(result, width=120)
    header, *rows = table.splitlines()
    assert header.split() == ["SEVERITY", "ENDPOINT", "TITLE", "CONFIDENCE"]
    assert len(rows) == len(result.findings)
    assert result.assessment is not None
    scores = {r.fingerprint: r.score for r in result.assessment.findings}
    by_endpoint = {f"{f.host}:{f.port}/tcp": f for f in result.findings}
    shown = [by_endpoint[row.split()[1]] for row in rows]
    assert [scores[f.fingerprint] for f in shown] == sorted(scores.values(), reverse=True)
    # Risk, not severity alone: a medium finding of high confidence outranks a
    # high one of low confidence (a CentOS build that may carry the fix).
    assert [f.severity for f in shown] == [
        Severity.CRITICAL,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.INFO,
    ]
    assert rows[0].startswith("critical  127.0.0.11:3306/tcp  MariaDB accepts connections")
    assert rows[0].rstrip().endswith("confirmed")


def test_without_an_assessment_the_most_severe_come_first() -> None:
    result = make_result()  # never assessed
    severities = [row.split()[0] for row in _rows(findings_table(result, width=120))]
    assert severities == ["critical", "high", "medium", "info"]


def test_columns_line_up_and_the_width_is_kept() -> None:
    long_title = "A title that goes on " * 20
    result = make_result(
        findings=(
            make_finding(title=long_title, severity=Severity.CRITICAL),
            make_finding(port=443, title="Short", confidence=Confidence.LOW),
        )
    )
    for width in (80, 100, 160):
        lines = findings_table(result, width=width).splitlines()
        assert all(len(line) <= width for line in lines), width
        # CONFIDENCE starts in the same column on every line.
        starts = {
            line.index(word)
            for line, word in zip(lines, ["CONFIDENCE", "high", "low"], strict=True)
        }
        assert len(starts) == 1
        first = lines[1]
        assert ELLIPSIS in first
        assert "A title that goes on A title" in first


def test_a_title_never_shrinks_below_its_minimum() -> None:
    result = make_result(findings=(make_finding(title="x" * 200),))
    row = _rows(findings_table(result, width=20))[0]
    title = row.split()[2]
    assert len(title) == MIN_TITLE
    assert title.endswith(ELLIPSIS)


def test_hostile_text_never_reaches_the_terminal() -> None:
    finding = make_finding(title=f"Banner {HOSTILE}", host="127.0.0.10")
    table = findings_table(make_result(findings=(finding,)), width=400)
    assert not _UNSAFE.search(table)
    assert len(table.splitlines()) == 2  # the line break in the banner forged no row
    assert "\\x1b[31m" in table  # shown, escaped
    assert "<script>alert(1)</script>" in table  # a terminal does not run markup


def test_baseline_and_accepted_columns_only_when_they_apply() -> None:
    accepted = Acceptance("ops@example.test", "2026-12-31", "VPN only", "accepted.yaml:2")
    expired = Acceptance("ops@example.test", "2026-01-31", "old", "accepted.yaml:5", expired=True)
    result = make_result(
        findings=(
            make_finding(severity=Severity.HIGH, baseline=BaselineState.NEW, accepted=accepted),
            make_finding(port=443, baseline=BaselineState.CHANGED, accepted=expired),
            make_finding(port=8080, severity=Severity.LOW, baseline=BaselineState.UNCHANGED),
        ),
        baseline=BaselineComparison("old.json", "2026-11-01T00:00:00+00:00", new=1, changed=1),
    )
    header, *rows = findings_table(result, width=160).splitlines()
    assert header.split() == ["SEVERITY", "ENDPOINT", "TITLE", "CONFIDENCE", "BASELINE", "ACCEPTED"]
    cells = [row.split()[-2:] for row in rows]
    assert cells == [["new", "accepted"], ["changed", "expired"], ["high", "unchanged"]]


def test_no_findings_says_so() -> None:
    assert findings_table(make_result(findings=()), width=80) == "No findings.\n"


def test_one_line_folds_breaks_and_escapes_controls() -> None:
    assert one_line("a\r\n\tb\x1b]8;;http://x\x07c\u202ed") == "a b\\x1b]8;;http://x\\x07c\\u202ed"
    assert one_line("abcdef", 4) == "abc" + ELLIPSIS
    assert one_line("abcd", 4) == "abcd"


def _error(stage: str, reason: str, target: str = "127.0.0.10", **more: object) -> ProbeError:
    fields: dict[str, object] = {"message": f"{reason} happened", "port": None, **more}
    return ProbeError(stage, target, reason, **fields)  # type: ignore[arg-type]


def test_coverage_names_each_kind_of_gap_and_why() -> None:
    errors = (
        _error(
            "discovery",
            "timeout",
            "batch 2 (127.0.10.221)",
            message="nmap did not finish within 5s; 1 target(s) of this batch were not scanned",
        ),
        _error(
            "probe:http", "TimeBudget", port=80, message="stopped (30s): the probe did not return"
        ),
        _error("probe:redis", "ConnectionResetError", port=6379, message="reset by peer"),
        _error("discovery", "invalid-entry", "scan.xml", message="port '-1' skipped"),
        _error("firewall:ack", "nmap-error", "ACK scan of 127.0.0.10"),
        _error("local:firewall", "unreadable", "box", message="nft: permission denied"),
    )
    lines = coverage_lines(make_result(probe_errors=errors))
    assert lines == [
        "trustscan: not covered: 1 nmap batch(es) timed out: batch 2 (127.0.10.221) "
        "(timeout): nmap did not finish within 5s; 1 target(s) of this batch were not scanned",
        "trustscan: not covered: 1 probe(s) ran out of time: http on 127.0.0.10:80 "
        "(TimeBudget): stopped (30s): the probe did not return",
        "trustscan: not covered: 1 probe(s) failed: redis on 127.0.0.10:6379 "
        "(ConnectionResetError): reset by peer",
        "trustscan: not covered: 1 nmap XML entr(ies) dropped: scan.xml (invalid-entry): "
        "port '-1' skipped",
        "trustscan: not covered: 1 ACK scan batch(es) failed: ACK scan of 127.0.0.10 "
        "(nmap-error): nmap-error happened",
        "trustscan: not covered: 1 part(s) of the local audit could not be read: box "
        "(unreadable): nft: permission denied",
    ]
    assert coverage_lines(make_result(probe_errors=())) == []


def test_coverage_is_bounded_and_terminal_safe() -> None:
    errors = tuple(
        _error("probe:http", "ValueError", port=8000 + i, message=HOSTILE * 10) for i in range(7)
    )
    (line,) = coverage_lines(make_result(probe_errors=errors))
    assert line.startswith("trustscan: not covered: 7 probe(s) failed: http on 127.0.0.10:8000 ")
    assert line.count("http on ") == EXAMPLES
    assert line.endswith(f"; and {7 - EXAMPLES} more")
    assert not _UNSAFE.search(line)
    assert "\n" not in line
    assert len(line) < 700
