"""`--baseline PREVIOUS.json` on `scan` and `report`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from scanner.assessment.baseline import Baseline
from scanner.cli.baseline import LAST, resolve_baseline
from scanner.model import BaselineState, ScanResult, Severity
from scanner.result_io import read, write
from tests.factories import make_finding
from tests.scanner.cli.baseline_pairs import OLD_FINISHED, saved_pair
from tests.support import FIXTURES, trustscan

XML = FIXTURES / "nmap" / "apache-centos.xml"


def _states(result: ScanResult) -> dict[str, BaselineState | None]:
    return {f.rule_id: f.baseline for f in result.findings}


def test_resolve_baseline_reads_a_saved_result(tmp_path: Path) -> None:
    pair = saved_pair(tmp_path)
    assert resolve_baseline(None) is None
    baseline = resolve_baseline(str(pair.old))
    assert isinstance(baseline, Baseline)
    assert baseline.source == str(pair.old)
    assert baseline.result == read(pair.old)
    assert resolve_baseline("last") == LAST  # the history's, resolved once the scan has a scope


def test_report_with_a_baseline(tmp_path: Path) -> None:
    pair = saved_pair(tmp_path)
    out, md = tmp_path / "out.json", tmp_path / "out.md"
    run = trustscan(
        "report",
        str(pair.new),
        "--baseline",
        str(pair.old),
        "--json",
        str(out),
        "--markdown",
        str(md),
    )
    assert run.code == 0, run.err
    result = read(out)
    assert result.baseline is not None
    assert (result.baseline.new, result.baseline.changed, result.baseline.unchanged) == (1, 1, 2)
    assert _states(result)["mariadb-exposed"] is BaselineState.NEW
    assert "1 new, 1 changed, 1 fixed since 2026-11-18 (1 not rescanned)" in run.out + run.err
    assert "**1 new, 1 changed, 1 fixed since 2026-11-18**" in md.read_text(encoding="utf-8")
    # Without --baseline the saved comparison is kept as it was.
    again = tmp_path / "again.json"
    run = trustscan("report", str(out), "--json", str(again))
    assert run.code == 0, run.err
    assert read(again).baseline == result.baseline


def test_a_report_of_a_part_compares_with_the_same_part_of_the_baseline(tmp_path: Path) -> None:
    pair = saved_pair(tmp_path)
    out = tmp_path / "part.json"
    run = trustscan(
        "report",
        str(pair.new),
        "--host",
        "127.0.0.10",
        "--min-severity",
        "high",
        "--baseline",
        str(pair.old),
        "--json",
        str(out),
    )
    assert run.code == 0, run.err
    part = read(out)
    assert part.baseline is not None
    # The end of life (high now) changed; the outdated 2.4 (medium) and TRACE
    # (medium) are outside the part, neither fixed nor unknown; Redis on
    # 127.0.0.12 is outside it too.
    assert _states(part) == {"apache-httpd-eol": BaselineState.CHANGED}
    assert part.baseline.fixed == ()
    assert part.baseline.not_rescanned == ()


def test_a_baseline_that_is_not_a_result_stops_the_command(tmp_path: Path) -> None:
    pair = saved_pair(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": "1.5",\n  "hosts": [,]}\n', encoding="utf-8")
    out = tmp_path / "out.json"
    for baseline, where in ((bad, f"{bad}:2"), (tmp_path / "missing.json", "missing.json")):
        run = trustscan("report", str(pair.new), "--baseline", str(baseline), "--json", str(out))
        assert run.code == 2
        assert run.err.startswith("trustscan: error: --baseline: ")
        assert where in run.err
        assert not out.exists()


def _xml_scan(tmp_path: Path, name: str, *options: str) -> tuple[ScanResult, str]:
    out = tmp_path / name
    run = trustscan(
        "scan",
        "--nmap-xml",
        str(XML),
        *options,
        "--json",
        str(out),
        env={"TRUSTSCAN_NMAP": "/nonexistent/nmap"},
    )
    assert run.code == 0, run.err
    return read(out), run.out + run.err


def test_scan_with_a_baseline_marks_every_state(tmp_path: Path) -> None:
    """The recorded scan again, against an earlier result of it edited to hold
    each case: a finding missing then (new), one less severe then (changed),
    one on this host no longer found (fixed), one on a host not in this scan
    (not rescanned)."""
    first, _ = _xml_scan(tmp_path, "first.json")
    by_rule = {f.rule_id: f for f in first.findings}
    eol = by_rule["apache-httpd-eol"]
    host = eol.host
    earlier = replace(
        first,
        finished=OLD_FINISHED,
        findings=(
            replace(eol, severity=Severity.MEDIUM),
            *(f for f in first.findings if f.rule_id not in (eol.rule_id, "host-no-packet-filter")),
            make_finding(host=host, port=eol.port, rule_id="http-trace-enabled"),
            make_finding(host="192.0.2.99", port=6379, rule_id="redis-no-auth"),
        ),
    )
    baseline = tmp_path / "baseline.json"
    write(earlier, baseline)
    result, said = _xml_scan(tmp_path, "second.json", "--baseline", str(baseline))
    assert _states(result) == {
        "apache-httpd-eol": BaselineState.CHANGED,
        "apache-httpd-known-vulnerabilities": BaselineState.UNCHANGED,
        "host-no-packet-filter": BaselineState.NEW,
    }
    assert result.baseline is not None
    assert [f.rule_id for f in result.baseline.fixed] == ["http-trace-enabled"]
    assert [f.rule_id for f in result.baseline.not_rescanned] == ["redis-no-auth"]
    assert "1 new, 1 changed, 1 fixed since 2026-11-18 (1 not rescanned)" in said


def test_the_new_result_may_replace_its_baseline(tmp_path: Path) -> None:
    """`--baseline last.json --json last.json`: the baseline is read before the
    scan, and the result written over it is compared with what it held."""
    first, _ = _xml_scan(tmp_path, "last.json")
    last = tmp_path / "last.json"
    result, said = _xml_scan(tmp_path, "last.json", "--baseline", str(last))
    assert read(last) == result
    assert result.baseline is not None
    assert result.baseline.taken == first.finished
    assert result.baseline.unchanged == len(first.findings)
    assert "0 new, 0 changed, 0 fixed since" in said
