"""What `trustscan diff` prints: the table of new, changed, fixed and
not-rescanned findings, and the counts."""

from __future__ import annotations

from dataclasses import replace

from scanner.assessment.baseline import Baseline, compared
from scanner.outputs.comparison import comparison_table
from tests.factories import make_finding, make_result
from tests.scanner.formats.support import HOSTILE, compared_result


def _rows(text: str) -> dict[str, list[str]]:
    """The table's rows by state (the first column)."""
    rows: dict[str, list[str]] = {}
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("STATE"))
    for line in lines[start + 1 :]:
        if not line:
            break
        for state in ("not rescanned", "new", "changed", "fixed"):
            if line.startswith(state + " "):
                rows.setdefault(state, []).append(line)
                break
        else:
            rows.setdefault("detail", []).append(line.strip())
    return rows


def test_the_table_lists_each_state_and_the_counts() -> None:
    text = comparison_table(compared_result())
    lines = text.splitlines()
    assert lines[0] == (
        "Compared with nightly/2026-11-18.json, a scan that finished 2026-11-18T10:05:00+00:00:"
    )
    assert lines[1] == "1 new, 1 changed, 2 unchanged, 1 fixed, 1 not rescanned"
    rows = _rows(text)
    (new,) = rows["new"]
    assert new.split()[:4] == ["new", "critical", "127.0.0.11:3306/tcp", "mariadb-exposed"]
    (changed,) = rows["changed"]
    assert "apache-httpd-eol" in changed
    assert rows["detail"] == ["severity medium \u2192 high"]
    (fixed,) = rows["fixed"]
    assert fixed.split()[2:4] == ["127.0.0.10:80/tcp", "http-trace-enabled"]
    (unknown,) = rows["not rescanned"]
    assert unknown.split()[3:5] == ["127.0.0.12:6379/tcp", "redis-no-auth"]
    assert "not counted as fixed" in text
    # Unchanged findings are counted, not listed.
    assert "ssh-banner" not in text


def test_columns_line_up() -> None:
    text = comparison_table(compared_result())
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("STATE"))
    column = header.index("FINDING")
    for state in ("new ", "changed ", "fixed ", "not rescanned "):
        row = next(line for line in lines if line.startswith(state))
        assert row[column - 2 : column] == "  "
        assert row[column] != " "


def test_nothing_moved() -> None:
    same = make_result()
    text = comparison_table(compared(same, Baseline("b.json", same)))
    assert "0 new, 0 changed, 4 unchanged, 0 fixed, 0 not rescanned" in text
    assert "No finding is new, changed or gone." in text
    assert "STATE" not in text


def test_not_compared() -> None:
    assert comparison_table(make_result()) == "This result was not compared with a baseline.\n"


def test_what_a_target_sent_cannot_drive_the_terminal() -> None:
    hostile = make_finding(title=f"Banner \x1b[2J{HOSTILE}", port=8080)
    now = make_result(findings=(hostile,))
    earlier = Baseline("b\x1b]8;;x\x07.json", replace(now, findings=()))
    text = comparison_table(compared(now, earlier))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert len([line for line in text.splitlines() if line.startswith("new ")]) == 1
