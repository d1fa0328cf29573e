"""`trustscan diff OLD.json NEW.json`: the comparison printed, and NEW compared
with OLD written in any format."""

from __future__ import annotations

from pathlib import Path

from scanner.model import BaselineState
from scanner.result_io import read
from tests.scanner.cli.baseline_pairs import OLD_FINISHED, saved_pair
from tests.support import trustscan


def _line(out: str, start: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(start))


def test_diff_prints_the_table_and_the_counts(tmp_path: Path) -> None:
    pair = saved_pair(tmp_path)
    run = trustscan("diff", str(pair.old), str(pair.new))
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == f"Compared with {pair.old}, a scan that finished {OLD_FINISHED}:"
    assert lines[1] == "1 new, 1 changed, 2 unchanged, 1 fixed, 1 not rescanned"
    assert "mariadb-exposed" in _line(run.out, "new ")
    assert "apache-httpd-eol" in _line(run.out, "changed ")
    assert "severity medium \u2192 high" in run.out
    assert "http-trace-enabled" in _line(run.out, "fixed ")
    assert "redis-no-auth" in _line(run.out, "not rescanned ")
    # And the closing line, as every command prints it.
    assert (
        "2 host(s) up, 4 finding(s) (1 critical, 1 high, 1 medium, 1 info), "
        "1 new, 1 changed, 1 fixed since 2026-11-18 (1 not rescanned)"
    ) in (run.out + run.err).splitlines()


def test_diff_the_other_way_round(tmp_path: Path) -> None:
    """OLD against NEW: what NEW found new is gone, on a host scanned again."""
    pair = saved_pair(tmp_path)
    run = trustscan("diff", str(pair.new), str(pair.old))
    assert run.code == 0, run.err
    assert run.out.splitlines()[1] == "2 new, 1 changed, 2 unchanged, 1 fixed, 0 not rescanned"
    assert "mariadb-exposed" in _line(run.out, "fixed ")


def test_diff_writes_new_compared_with_old_in_every_format(tmp_path: Path) -> None:
    pair = saved_pair(tmp_path)
    out = tmp_path / "out"
    run = trustscan(
        "diff",
        str(pair.old),
        str(pair.new),
        "--format",
        "json",
        "--format",
        "markdown",
        "--format",
        "html",
        "--output-dir",
        str(out),
        "-q",
    )
    assert run.code == 0, run.err
    assert run.out == ""  # --quiet: the files only
    assert "since" not in run.err
    result = read(out / "trustscan-result.json")
    assert result.baseline is not None
    assert result.baseline.source == str(pair.old)
    assert result.baseline.taken == OLD_FINISHED
    states = {f.rule_id: f.baseline for f in result.findings}
    assert states["mariadb-exposed"] is BaselineState.NEW
    assert states["apache-httpd-eol"] is BaselineState.CHANGED
    assert states["ssh-banner"] is BaselineState.UNCHANGED
    assert [f.rule_id for f in result.baseline.fixed] == ["http-trace-enabled"]
    assert [f.rule_id for f in result.baseline.not_rescanned] == ["redis-no-auth"]
    markdown = (out / "trustscan-summary.md").read_text(encoding="utf-8")
    assert "**1 new, 1 changed, 1 fixed since 2026-11-18**" in markdown
    html = (out / "trustscan-report.html").read_text(encoding="utf-8")
    assert '<section id="baseline"' in html
    assert '<span class="bl bl-new">new</span>' in html


def test_diff_will_not_write_over_its_inputs(tmp_path: Path) -> None:
    pair = saved_pair(tmp_path)
    before = pair.old.read_bytes()
    run = trustscan("diff", str(pair.old), str(pair.new), "--json", str(pair.old))
    assert run.code == 2
    assert "the old result" in run.err
    assert pair.old.read_bytes() == before


def test_diff_of_a_file_that_is_not_a_result_names_it(tmp_path: Path) -> None:
    pair = saved_pair(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": "1.5",\n "findings": [}\n', encoding="utf-8")
    run = trustscan("diff", str(bad), str(pair.new))
    assert run.code == 2
    assert f"{bad}:2" in run.err
    assert run.out == ""


def test_diff_is_listed_with_its_options() -> None:
    run = trustscan("diff", "--help")
    assert run.code == 0
    assert "OLD.json NEW.json" in run.out
    for option in ("--format", "--output-dir", "--json", "--markdown", "--fail-on"):
        assert option in run.out
