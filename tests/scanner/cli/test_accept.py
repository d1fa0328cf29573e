"""`--accept`, `--today` and `.trustscan-accept.yaml` as a user runs them: a
real `trustscan` process on a recorded nmap scan or a saved result (no
network), the marks in the JSON result and the exit code of the gate."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from scanner.result_io import write
from tests.factories import make_result
from tests.support import FIXTURES, REPO, Run, trustscan

RECORDED = FIXTURES / "nmap" / "apache-centos.xml"  # 127.0.0.10: two high findings, one medium
NO_NMAP = {"TRUSTSCAN_NMAP": "/nonexistent/nmap"}
ACCEPT_BOTH_HIGHS = """\
accepted:
  - rule: apache-httpd-*          # both high findings on 127.0.0.10:80
    host: 127.0.0.10
    port: 80
    reason: CentOS 6 box, isolated until its migration
    owner: platform@example.test
    expires: 2027-03-31
  - rule: web-server-status-exposed
    host: 127.0.0.22
    reason: staging only
    owner: security@example.test
    expires: 2027-03-31
"""


@pytest.fixture(autouse=True)
def _no_trustscan_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TRUSTSCAN_"):
            monkeypatch.delenv(name)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _scan(out: Path, *args: str) -> tuple[Run, dict[str, Any]]:
    """`scan --nmap-xml` of the recorded scan with `args`, and its JSON result."""
    run = trustscan("scan", "--nmap-xml", str(RECORDED), "--json", str(out), *args, env=NO_NMAP)
    result = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return run, result


def _marks(result: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    return {f["rule_id"]: f["accepted"] for f in result["findings"]}


def test_accepted_findings_are_marked_and_do_not_trip_the_gate(tmp_path: Path) -> None:
    accept = _write(tmp_path / "accepted.yaml", ACCEPT_BOTH_HIGHS)
    run, result = _scan(tmp_path / "r.json", "--accept", str(accept), "--fail-on", "high")
    assert run.code == 0, run.err
    marks = _marks(result)
    assert marks["apache-httpd-eol"] == {
        "owner": "platform@example.test",
        "expires": "2027-03-31",
        "reason": "CentOS 6 box, isolated until its migration",
        "source": f"{accept}:2",
        "expired": False,
    }
    assert marks["apache-httpd-known-vulnerabilities"] == marks["apache-httpd-eol"]
    assert marks["host-no-packet-filter"] is None
    # Every finding is still in the report.
    assert len(result["findings"]) == 3
    assert result["acceptance"]["accepted"] == 2
    assert result["acceptance"]["stale"] == [
        f"{accept}:8: rule web-server-status-exposed, host 127.0.0.22"
    ]
    assert result["acceptance"]["source"] == str(accept)
    assert f"accepted risks from {accept}, as of " in run.err
    assert ": 2 finding(s) accepted, 1 entry matched nothing" in run.err
    # The medium finding still trips a lower gate.
    lower, _ = _scan(tmp_path / "r2.json", "--accept", str(accept), "--fail-on", "medium")
    assert lower.code == 1


def test_without_the_file_the_same_scan_trips_the_gate(tmp_path: Path) -> None:
    run, result = _scan(tmp_path / "r.json", "--fail-on", "high")
    assert run.code == 1
    assert set(_marks(result).values()) == {None}
    assert result["acceptance"] is None


def test_an_acceptance_past_today_stops_counting(tmp_path: Path) -> None:
    accept = _write(tmp_path / "accepted.yaml", ACCEPT_BOTH_HIGHS)
    args = ("--accept", str(accept), "--fail-on", "high")
    on_the_day, _ = _scan(tmp_path / "a.json", *args, "--today", "2027-03-31")
    assert on_the_day.code == 0, on_the_day.err
    run, result = _scan(tmp_path / "b.json", *args, "--today", "2027-04-01")
    assert run.code == 1
    mark = _marks(result)["apache-httpd-eol"]
    assert mark is not None
    assert mark["expired"] is True
    assert result["acceptance"]["checked_on"] == "2027-04-01"
    assert result["acceptance"]["accepted"] == 0
    assert result["acceptance"]["expired"] == [
        f"{accept}:2: rule apache-httpd-*, host 127.0.0.10, port 80; expired after 2027-03-31"
    ]
    # Said on stderr, also with --quiet: its findings count again.
    quiet, _ = _scan(tmp_path / "c.json", *args, "--today", "2027-04-01", "-q")
    assert quiet.err.splitlines()[0] == (
        f"trustscan: warning: accepted risk expired: {accept}:2: rule apache-httpd-*, "
        "host 127.0.0.10, port 80; expired after 2027-03-31"
    )
    assert "accepted risks from" not in quiet.err


def test_today_comes_from_the_environment_too(tmp_path: Path) -> None:
    accept = _write(tmp_path / "accepted.yaml", ACCEPT_BOTH_HIGHS)
    out = tmp_path / "r.json"
    run = trustscan(
        "scan", "--nmap-xml", str(RECORDED), "--json", str(out), "--accept", str(accept),
        env={**NO_NMAP, "TRUSTSCAN_TODAY": "2030-01-01"},
    )  # fmt: skip
    assert run.code == 0, run.err
    assert json.loads(out.read_text(encoding="utf-8"))["acceptance"]["checked_on"] == "2030-01-01"


def test_a_bad_today_is_refused(tmp_path: Path) -> None:
    run, _ = _scan(tmp_path / "r.json", "--today", "31/03/2027")
    assert run.code == 2
    assert "--today" in run.err


def test_the_file_in_the_current_directory_is_picked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / ".trustscan-accept.yaml", ACCEPT_BOTH_HIGHS)
    monkeypatch.chdir(tmp_path)
    run, result = _scan(tmp_path / "r.json", "--fail-on", "high")
    assert run.code == 0, run.err
    assert result["acceptance"]["source"] == ".trustscan-accept.yaml"
    assert _marks(result)["apache-httpd-eol"]["source"] == ".trustscan-accept.yaml:2"  # type: ignore[index]
    assert (
        "accepted risks from .trustscan-accept.yaml (found in the current directory), "
        "as of " in run.err
    )


def test_a_named_file_wins_over_the_one_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / ".trustscan-accept.yaml", ACCEPT_BOTH_HIGHS)
    named = _write(tmp_path / "other.yaml", "accepted: []\n")
    monkeypatch.chdir(tmp_path)
    run, result = _scan(tmp_path / "r.json", "--accept", str(named), "--fail-on", "high")
    assert run.code == 1
    assert result["acceptance"]["source"] == str(named)
    assert "found in the current directory" not in run.err
    # So does one a config file names.
    job = _write(tmp_path / "job.yaml", f"accept: {named}\nfail_on: high\n")
    by_config, result = _scan(tmp_path / "r2.json", "--config", str(job))
    assert by_config.code == 1
    assert result["acceptance"]["source"] == str(named)


def test_a_bad_file_in_the_current_directory_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / ".trustscan-accept.yaml", "accepted:\n  - port: 80\n")
    monkeypatch.chdir(tmp_path)
    run = trustscan("scan", "127.0.0.1", "-p", "80", env=NO_NMAP)
    # Exit 2, not 3: the file is checked before nmap is looked for.
    assert run.code == 2
    assert run.err.startswith(
        "trustscan: error: invalid accepted-risks file: .trustscan-accept.yaml:2: "
    )


def test_a_bad_file_stops_the_scan_before_nmap_with_file_and_line(tmp_path: Path) -> None:
    accept = _write(
        tmp_path / "accepted.yaml",
        "accepted:\n  - rule: x\n    reason: r\n    owner: o\n    expires: next year\n",
    )
    run = trustscan("scan", "127.0.0.1", "-p", "80", "--accept", str(accept), env=NO_NMAP)
    assert run.code == 2
    assert run.err.strip() == (
        f"trustscan: error: invalid accepted-risks file: {accept}:5: "
        "accepted.0.expires: a date, YYYY-MM-DD"
    )


def test_an_output_may_not_overwrite_the_file(tmp_path: Path) -> None:
    accept = _write(tmp_path / "accepted.yaml", ACCEPT_BOTH_HIGHS)
    run = trustscan(
        "scan", "--nmap-xml", str(RECORDED), "--accept", str(accept), "--json", str(accept),
        env=NO_NMAP,
    )  # fmt: skip
    assert run.code == 2
    assert "would overwrite the accepted-risks file" in run.err
    assert accept.read_text(encoding="utf-8") == ACCEPT_BOTH_HIGHS


def test_report_judges_a_saved_result_again(tmp_path: Path) -> None:
    saved, out = tmp_path / "result.json", tmp_path / "out.json"
    write(make_result(probe_errors=()), saved)
    accept = _write(
        tmp_path / "accepted.yaml",
        "accepted:\n  - rule: mariadb-exposed\n    reason: r\n    owner: o\n"
        "    expires: 2027-01-01\n",
    )
    base = ("report", str(saved), "--json", str(out), "--fail-on", "critical")
    assert trustscan(*base).code == 1
    run = trustscan(*base, "--accept", str(accept), "--today", "2026-12-31")
    assert run.code == 0, run.err
    reported = json.loads(out.read_text(encoding="utf-8"))
    assert _marks(reported)["mariadb-exposed"]["expired"] is False  # type: ignore[index]
    # Rendered again later without the file: the marks it was saved with stay.
    again = tmp_path / "again.json"
    kept = trustscan("report", str(out), "--json", str(again), "--fail-on", "critical")
    assert kept.code == 0, kept.err
    assert json.loads(again.read_text(encoding="utf-8"))["acceptance"]["checked_on"] == (
        "2026-12-31"
    )
    # With the file and a later day, judged again.
    late = trustscan(*base, "--accept", str(accept), "--today", "2027-01-02")
    assert late.code == 1


def test_accept_and_today_are_options_of_scan_local_and_report() -> None:
    for command in ("scan", "local", "report"):
        run = trustscan(command, "--help")
        assert run.code == 0
        assert "--accept FILE" in run.out, command
        assert "--today YYYY-MM-DD" in run.out, command


def test_the_repository_root_holds_no_accept_file() -> None:
    # Every CLI test runs there: a file there would change their gates silently.
    assert not (REPO / ".trustscan-accept.yaml").exists()
