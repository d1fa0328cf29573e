"""The closing line: with a baseline, what moved since when."""

from __future__ import annotations

from pathlib import Path

from scanner.assessment.baseline import Baseline, compared
from scanner.outputs.summary import summary_line
from tests.factories import make_finding, make_result
from tests.scanner.formats.support import compared_result


def test_the_line_says_new_changed_and_fixed_since_the_baseline_date() -> None:
    line = summary_line(compared_result(), [Path("report.html")])
    assert line == (
        "2 host(s) up, 4 finding(s) (1 critical, 1 high, 1 medium, 1 info), "
        "1 new, 1 changed, 1 fixed since 2026-11-18 (1 not rescanned), "
        "1 probe error(s); wrote report.html"
    )


def test_zeros_are_said_and_not_rescanned_only_when_there_are_some() -> None:
    same = make_result()
    line = summary_line(compared(same, Baseline("b.json", same)), [])
    assert ", 0 new, 0 changed, 0 fixed since 2026-11-25," in line
    assert "not rescanned" not in line


def test_without_a_baseline_nothing_is_said_of_one() -> None:
    line = summary_line(make_result(findings=(make_finding(),)), [])
    assert "since" not in line
    assert " new" not in line
