"""The trustscan command as a user runs it: a subprocess, real nmap, real files."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.lab.servers import Lab
from scanner.assessment.risk import assessed
from scanner.discovery.checkpoint import partial_path
from scanner.model import ScanResult, Severity
from scanner.result_io import dumps, read
from scanner.rule_engine.findings import fingerprint, system_identity
from tests.factories import make_finding, make_host, make_result
from tests.support import FIXTURES, LAB_PREFIX, Run, requires_nmap, trustscan


def _one_error_line(run: Run) -> str:
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err
    return lines[0]


@dataclass(frozen=True)
class LabScan:
    run: Run
    html: Path
    json: Path


@pytest.fixture(scope="module")
def lab_scan(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> LabScan:
    out = tmp_path_factory.mktemp("scan")
    html, result = out / "report.html", out / "result.json"
    octets = sorted(r.target.octet for r in lab.running)
    ports = ",".join(sorted({str(r.port) for r in lab.running}))
    excluded = lab.address_of("debian-apache").address
    run = trustscan(
        "scan",
        f"{LAB_PREFIX}.{octets[0]}-{octets[-1]}",
        f"{LAB_PREFIX}.{octets[0]}",
        "--exclude",
        excluded,
        "-p",
        ports,
        "-o",
        str(html),
        "--json",
        str(result),
    )
    return LabScan(run, html, result)


@pytest.mark.integration
@requires_nmap
def test_scan_finds_the_outdated_apaches(lab_scan: LabScan, lab: Lab) -> None:
    assert lab_scan.run.code == 0, lab_scan.run.err
    result = read(lab_scan.json)
    centos = lab.address_of("centos6-apache")
    new = lab.address_of("apache-2.4.49")
    excluded = lab.address_of("debian-apache")
    # Duplicates dropped, the excluded host never scanned.
    expected = tuple(r.address for r in sorted(lab.running, key=lambda r: r.target.octet))
    assert result.targets == tuple(a for a in expected if a != excluded.address)
    assert excluded.address not in {h.address for h in result.hosts}
    by_rule = {(f.rule_id, f.host): f for f in result.findings}
    eol = by_rule[("apache-httpd-eol", centos.address)]
    assert eol.severity.value == "high"
    assert eol.port == centos.port
    assert eol.service == "http"
    assert eol.confidence.value == "low"  # a CentOS build: fixes may be backported
    assert any("CentOS" in note for note in eol.notes)
    assert any("2.2.15" in e for e in eol.evidence)
    assert eol.remediation
    assert eol.trust.impact
    assert eol.trust.data_at_stake
    outdated = by_rule[("apache-httpd-outdated", new.address)]
    assert outdated.confidence.value == "high"
    cves = by_rule[("apache-httpd-known-vulnerabilities", new.address)]
    assert cves.severity.value == "critical"
    assert {"CVE-2021-41773", "CVE-2021-42013"} <= {v.id for v in cves.vulnerabilities}
    lamp = lab.address_of("centos6-lamp")
    assert {("php-eol", lamp.address), ("openssl-eol", lamp.address)} <= set(by_rule)
    ssh = lab.address_of("openssh-7.4")
    ssh_service = next(f for f in result.findings if f.host == ssh.address)
    assert ssh_service.port == ssh.port
    assert result.nmap.version
    assert result.nmap.commands
    assert result.started <= result.finished
    assert result.probe_errors == ()
    assert not partial_path(lab_scan.json).exists()  # progress file gone once the result is
    # The summary is on stderr: stdout carries only what was asked for.
    assert f"{len(result.hosts)} host(s) up, {len(result.findings)} finding(s)" in lab_scan.run.err
    assert lab_scan.run.out == ""


@pytest.mark.integration
@requires_nmap
def test_fingerprints_are_stable_across_scans(lab_scan: LabScan, lab: Lab, tmp_path: Path) -> None:
    centos = lab.address_of("centos6-apache")
    again = tmp_path / "again.json"
    run = trustscan("scan", centos.address, "-p", str(centos.port), "--json", str(again), "-q")
    assert run.code == 0, run.err
    assert run.out == ""  # --quiet
    # Port findings: what the host as a whole looks like depends on the ports probed.
    first = {
        f.fingerprint
        for f in read(lab_scan.json).findings
        if f.host == centos.address and f.port is not None
    }
    second = {f.fingerprint for f in read(again).findings if f.port is not None}
    assert first == second
    assert len(first) == 2  # end of life, and the grouped known vulnerabilities


def _lab_again(lab: Lab, result: Path, *options: str) -> tuple[ScanResult, Run]:
    """The lab scanned as `lab_scan` scans it, with more options."""
    octets = sorted(r.target.octet for r in lab.running)
    ports = ",".join(sorted({str(r.port) for r in lab.running}))
    run = trustscan(
        "scan",
        f"{LAB_PREFIX}.{octets[0]}-{octets[-1]}",
        "--exclude",
        lab.address_of("debian-apache").address,
        "-p",
        ports,
        "--json",
        str(result),
        *options,
    )
    assert run.code == 0, run.err
    return read(result), run


@pytest.mark.integration
@requires_nmap
def test_an_unchanged_lab_scanned_again_keeps_every_fingerprint(
    lab_scan: LabScan, lab: Lab, tmp_path: Path
) -> None:
    """Every finding, host-level ones too, and against the first scan as a
    baseline: nothing new, changed, fixed or unknown."""
    first = read(lab_scan.json)
    again, run = _lab_again(lab, tmp_path / "again.json", "--baseline", str(lab_scan.json))
    assert f"0 new, 0 changed, 0 fixed since {first.finished[:10]}" in run.out + run.err
    prints = sorted(f.fingerprint for f in first.findings)
    assert len(set(prints)) == len(prints)
    assert sorted(f.fingerprint for f in again.findings) == prints
    assert again.baseline is not None
    assert again.baseline.unchanged == len(prints)
    assert (again.baseline.new, again.baseline.changed) == (0, 0)
    assert again.baseline.fixed == again.baseline.not_rescanned == ()
    # With an inventory naming each host, twice: keyed by system, the same twice.
    inventory = tmp_path / "assets.yaml"
    inventory.write_text(
        "assets:\n"
        + "".join(f"  - address: {r.address}\n    system: {r.target.name}\n" for r in lab.running),
        encoding="utf-8",
    )
    named = [
        _lab_again(lab, tmp_path / f"named-{n}.json", "--inventory", str(inventory))[0]
        for n in (1, 2)
    ]
    assert sorted(f.fingerprint for f in named[0].findings) == sorted(
        f.fingerprint for f in named[1].findings
    )
    systems = {r.address: r.target.name for r in lab.running}
    for finding in named[0].findings:
        assert finding.fingerprint == fingerprint(
            finding.rule_id,
            system_identity(systems[finding.host]),
            finding.protocol,
            finding.port,
            finding.subject,
        )


@pytest.mark.integration
@requires_nmap
def test_the_html_report_shows_findings_and_hosts(lab_scan: LabScan) -> None:
    html = lab_scan.html.read_text(encoding="utf-8")
    assert "Apache httpd 2.2 or older is end of life" in html
    assert "Apache httpd 2.2.15 ((CentOS))" in html
    assert "Customer trust" in html
    assert "Content-Security-Policy" in html


@pytest.mark.integration
@requires_nmap
def test_report_re_renders_from_the_saved_result(lab_scan: LabScan, tmp_path: Path) -> None:
    html, again = tmp_path / "r.html", tmp_path / "r.json"
    run = trustscan("report", str(lab_scan.json), "-o", str(html), "--json", str(again))
    assert run.code == 0, run.err
    assert html.read_text(encoding="utf-8") == lab_scan.html.read_text(encoding="utf-8")
    assert json.loads(again.read_text()) == json.loads(lab_scan.json.read_text())


@pytest.mark.integration
@requires_nmap
@pytest.mark.parametrize(
    ("fail_on", "code"), [("never", 0), ("critical", 1), ("high", 1), ("medium", 1), ("info", 1)]
)
def test_fail_on_sets_the_exit_code_but_hides_nothing(
    lab_scan: LabScan, tmp_path: Path, fail_on: str, code: int
) -> None:
    html = tmp_path / "r.html"
    run = trustscan("report", str(lab_scan.json), "-o", str(html), "--fail-on", fail_on)
    assert run.code == code, run.err
    text = html.read_text(encoding="utf-8")
    assert "Apache httpd 2.2 or older is end of life" in text
    assert "older than the newest release" in text


def _scan_recorded_xml(tmp_path: Path, *options: str) -> ScanResult:
    """`scan --nmap-xml` on the recorded CentOS scan; nmap must not be needed."""
    result = tmp_path / "r.json"
    run = trustscan(
        "scan",
        *options,
        "--nmap-xml",
        str(FIXTURES / "nmap" / "apache-centos.xml"),
        "--json",
        str(result),
        env={"TRUSTSCAN_NMAP": "/nonexistent/nmap"},
    )
    assert run.code == 0, run.err
    return read(result)


def test_nmap_xml_is_evaluated_without_running_nmap(tmp_path: Path) -> None:
    loaded = _scan_recorded_xml(tmp_path)
    assert loaded.nmap.source.endswith("apache-centos.xml")
    assert {f.rule_id for f in loaded.findings} == {
        "apache-httpd-eol",
        "apache-httpd-known-vulnerabilities",
        # 999 ports answered with a reset in the recorded scan.
        "host-no-packet-filter",
    }


@pytest.mark.parametrize(
    "name",
    ["billion-laughs.xml", "external-entity.xml", "truncated.xml", "wrong-root.xml", "not-xml.xml"],
)
def test_hostile_nmap_xml_is_one_line_and_exit_2(name: str) -> None:
    run = trustscan("scan", "--nmap-xml", str(FIXTURES / "hostile" / name))
    assert run.code == 2
    assert name in _one_error_line(run)


@pytest.mark.parametrize("junk", ["999.1.1.1", "foo_bar", "127.0.0.9-3", "10.0.0.0/33"])
def test_a_junk_target_is_named_and_exits_2(junk: str) -> None:
    run = trustscan("scan", "127.0.0.1", junk)
    assert run.code == 2
    assert repr(junk) in _one_error_line(run)


def test_junk_in_a_target_file_names_file_and_line(tmp_path: Path) -> None:
    targets = tmp_path / "targets.txt"
    targets.write_text("# lab\n127.0.0.1\n\nnot/a/target  # oops\n", encoding="utf-8")
    run = trustscan("scan", f"@{targets}")
    assert run.code == 2
    assert f"{targets}:4:" in _one_error_line(run)


def test_more_than_4096_addresses_need_max_hosts() -> None:
    run = trustscan("scan", "127.0.0.0/19")
    assert run.code == 2
    assert "--max-hosts" in _one_error_line(run)


def test_missing_nmap_exits_3_with_the_fix() -> None:
    run = trustscan("scan", "127.0.0.1", "-p", "80", env={"TRUSTSCAN_NMAP": "/nonexistent/nmap"})
    assert run.code == 3
    assert "apt-get install nmap" in _one_error_line(run)


def test_rules_lint_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "rules:\n  - id: x-rule\n    title: too\n    severity: urgent\n", encoding="utf-8"
    )
    run = trustscan("rules", "lint", str(tmp_path))
    assert run.code == 2
    assert f"{bad}:4: " in run.err  # the severity line
    assert "Traceback" not in run.err


def test_a_bad_user_rules_dir_stops_the_scan_before_nmap(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("rules: [\n", encoding="utf-8")
    run = trustscan("scan", "127.0.0.1", "--rules", str(tmp_path))
    assert run.code == 2
    assert f"{tmp_path / 'r.yaml'}:" in _one_error_line(run)


def test_rules_list_shows_the_builtin_rules() -> None:
    run = trustscan("rules", "list")
    assert run.code == 0
    assert "apache-httpd-eol" in run.out
    assert "apache-httpd-outdated" in run.out


def test_report_of_a_file_that_is_not_a_result(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}', encoding="utf-8")
    run = trustscan("report", str(bogus), "-o", str(tmp_path / "r.html"))
    assert run.code == 2
    assert "schema_version" in _one_error_line(run)
    assert not (tmp_path / "r.html").exists()


@requires_nmap
def test_an_nmap_failure_exits_3_with_what_nmap_said() -> None:
    run = trustscan("scan", "127.0.0.1", "-p", "9", "--nmap-arg=--script=no-such-script-zz")
    assert run.code == 3
    line = _one_error_line(run)
    assert "no-such-script-zz" in line
    assert "stack traceback" not in line


@requires_nmap
def test_targets_that_do_not_answer_are_listed(tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    run = trustscan("scan", "127.0.0.1", "no-such-host.invalid", "-p", "9", "--json", str(result))
    assert run.code == 0, run.err
    assert read(result).unanswered == ("no-such-host.invalid",)
    assert "1 target(s) did not answer" in run.err
    assert "not covered" not in run.err  # a target that did not answer is no gap


def _stderr_on_a_terminal(*args: str) -> str:
    """Run trustscan with stderr on a pseudo-terminal; return what it drew there."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", *args],
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 4096)
        except OSError:  # EIO once the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(primary)
    return b"".join(chunks).decode()


@pytest.mark.integration
@requires_nmap
def test_progress_bar_only_on_a_terminal(lab: Lab) -> None:
    target = lab.address_of("centos6-apache")
    args = ["scan", target.address, "-p", str(target.port)]
    shown = _stderr_on_a_terminal(*args)
    assert "scanning [" in shown
    assert "1/1 hosts" in shown
    assert _stderr_on_a_terminal(*args, "--quiet") == ""
    assert "scanning [" not in trustscan(*args).err  # stderr is a pipe


@pytest.mark.parametrize("command", [["local"], ["scan", "127.0.0.1"]])
def test_unwritable_output_fails_before_any_work(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no-such-dir" / "result.json"
    run = trustscan(*command, "--json", str(missing), env={"TRUSTSCAN_NMAP": "/nonexistent/nmap"})
    assert run.code == 2
    assert run.err.strip() == (
        f"trustscan: error: cannot write {missing}: directory {missing.parent} does not exist"
    )


def test_scan_local_with_imported_xml_adds_this_machine(tmp_path: Path) -> None:
    # Whether this machine's audit is complete depends on the machine (a
    # socket whose owner is in another namespace is a gap): not judged here.
    loaded = _scan_recorded_xml(tmp_path, "--local", "--allow-incomplete")
    assert [h.status for h in loaded.hosts] == ["up", "local"]
    local = loaded.hosts[1].address
    assert any(o.host == local and o.key == "local.firewall" for o in loaded.observations)
    assert any(f.host == local and f.rule_id.startswith("local-") for f in loaded.findings)


def test_bad_credentials_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    creds = tmp_path / "creds.yaml"
    creds.write_text("credentials:\n  - store: oracle\n    username: a\n", encoding="utf-8")
    creds.chmod(0o600)
    run = trustscan(
        "scan", "127.0.0.1", "--credentials", str(creds), env={"TRUSTSCAN_NMAP": "/nonexistent"}
    )
    assert run.code == 2
    assert _one_error_line(run).startswith(f"trustscan: error: {creds}:2: store is not one of ")


def test_no_password_option_on_the_command_line() -> None:
    run = trustscan("scan", "--help")
    assert "--credentials" in run.out
    assert "--password" not in run.out


def test_report_writes_sarif_junit_and_markdown(tmp_path: Path) -> None:
    from scanner.result_io import write
    from tests.factories import make_result

    saved = tmp_path / "result.json"
    write(make_result(probe_errors=()), saved)
    sarif, junit, md = tmp_path / "r.sarif", tmp_path / "r.junit.xml", tmp_path / "r.md"
    run = trustscan(
        "report", str(saved), "--sarif", str(sarif), "--junit", str(junit), "--markdown", str(md)
    )
    assert run.code == 0, run.err
    assert json.loads(sarif.read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert junit.read_text(encoding="utf-8").startswith("<?xml")
    assert md.read_text(encoding="utf-8").startswith("## trustscan: 4 findings")
    for path in (sarif, junit, md):
        assert str(path) in run.err
    assert run.out == ""


def test_junit_follows_fail_on(tmp_path: Path) -> None:
    from scanner.result_io import write
    from tests.factories import make_result

    saved = tmp_path / "result.json"
    write(make_result(), saved)
    junit = tmp_path / "r.junit.xml"
    run = trustscan("report", str(saved), "--junit", str(junit), "--fail-on", "critical")
    assert run.code == 1  # a critical finding
    assert junit.read_text(encoding="utf-8").count("<failure ") == 1


def test_with_no_output_the_findings_table_is_printed(tmp_path: Path) -> None:
    saved = _saved_result(tmp_path)
    run = trustscan("report", str(saved))
    assert run.code == 0, run.err
    header, *rows = run.out.splitlines()
    assert header.split() == ["SEVERITY", "ENDPOINT", "TITLE", "CONFIDENCE"]
    assert len(rows) == 4
    assert rows[0].startswith("critical  127.0.0.11:3306/tcp  MariaDB accepts connections")
    # The count line stays on stderr, so the table can be piped alone.
    assert run.err.startswith("2 host(s) up, 4 finding(s) (1 critical, 1 high, 1 medium, 1 info)")
    assert "wrote" not in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def _saved_result(directory: Path) -> Path:
    """A result as `scan` saves it: assessed."""
    from scanner.assessment.risk import assessed
    from scanner.result_io import write
    from tests.factories import make_result

    saved = directory / "result.json"
    write(assessed(make_result(probe_errors=())), saved)  # complete: exit 0
    return saved


def test_report_assesses_a_result_saved_without_an_assessment(tmp_path: Path) -> None:
    from scanner.assessment.risk import assess
    from scanner.result_io import write
    from tests.factories import make_result

    saved, out = tmp_path / "result.json", tmp_path / "out.json"
    write(make_result(), saved)  # with its probe error: incomplete, allowed here
    run = trustscan("report", str(saved), "--json", str(out), "--allow-incomplete")
    assert run.code == 0, run.err
    assert read(out).assessment == assess(make_result())


def test_report_with_format_only_writes_default_names_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = _saved_result(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the subprocess starts here
    run = trustscan("report", str(saved), "--format", "sarif", "--format", "junit")
    assert run.code == 0, run.err
    assert sorted(p.name for p in work.iterdir()) == ["trustscan-junit.xml", "trustscan.sarif"]
    assert json.loads((work / "trustscan.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert run.err.splitlines()[0].endswith("wrote trustscan.sarif, trustscan-junit.xml")


def test_every_format_into_an_output_dir(tmp_path: Path) -> None:
    saved = _saved_result(tmp_path)
    out = tmp_path / "out"  # missing, its parent exists: created
    formats = [
        arg for fmt in ("html", "json", "sarif", "junit", "markdown") for arg in ("--format", fmt)
    ]
    run = trustscan("report", str(saved), *formats, "--output-dir", str(out), "-q")
    assert run.code == 0, run.err
    assert sorted(p.name for p in out.iterdir()) == [
        "trustscan-junit.xml",
        "trustscan-report.html",
        "trustscan-result.json",
        "trustscan-summary.md",
        "trustscan.sarif",
    ]
    assert read(out / "trustscan-result.json") == read(saved)


def test_an_explicit_path_wins_over_the_default_name(tmp_path: Path) -> None:
    saved = _saved_result(tmp_path)
    out, mine = tmp_path / "out", tmp_path / "x.sarif"
    run = trustscan(
        "report",
        str(saved),
        "--format",
        "sarif",
        "--format",
        "sarif",  # named twice: written once
        "--format",
        "markdown",
        "--sarif",
        str(mine),
        "--output-dir",
        str(out),
    )
    assert run.code == 0, run.err
    assert mine.is_file()
    assert [p.name for p in out.iterdir()] == ["trustscan-summary.md"]
    assert run.err.splitlines()[0].endswith(f"wrote {mine}, {out / 'trustscan-summary.md'}")


@pytest.mark.parametrize("command", [["local"], ["scan", "127.0.0.1"], ["report", "RESULT"]])
def test_an_output_dir_without_a_parent_fails_before_any_work(
    tmp_path: Path, command: list[str]
) -> None:
    saved = _saved_result(tmp_path)
    out = tmp_path / "no-such-dir" / "out"
    args = [str(saved) if a == "RESULT" else a for a in command]
    run = trustscan(
        *args,
        "--format",
        "json",
        "--output-dir",
        str(out),
        env={"TRUSTSCAN_NMAP": "/nonexistent/nmap"},
    )
    assert run.code == 2
    assert _one_error_line(run) == (
        f"trustscan: error: cannot create {out}: directory {out.parent} does not exist"
    )
    assert not out.parent.exists()


def test_an_output_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    saved = _saved_result(tmp_path)
    run = trustscan("report", str(saved), "--format", "json", "--output-dir", str(saved))
    assert run.code == 2
    assert (
        _one_error_line(run) == f"trustscan: error: cannot write to {saved}: it is not a directory"
    )


def test_an_output_dir_needs_a_format(tmp_path: Path) -> None:
    saved = _saved_result(tmp_path)
    run = trustscan("report", str(saved), "--json", str(tmp_path / "r.json"), "--output-dir", ".")
    assert run.code == 2
    assert "--output-dir is where --format writes: give --format too" in run.err
    assert not (tmp_path / "r.json").exists()


def test_an_unknown_format_is_rejected(tmp_path: Path) -> None:
    saved = _saved_result(tmp_path)
    run = trustscan("report", str(saved), "--format", "xml", "--output-dir", str(tmp_path))
    assert run.code == 2
    assert "Invalid value for '--format': 'xml' is not one of" in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_format_and_output_dir_are_options_of_scan_local_and_report() -> None:
    for command in ("scan", "local", "report"):
        out = trustscan(command, "--help").out
        assert "--format [html|json|sarif|junit|markdown]" in out
        assert "--output-dir DIR" in out


def test_scan_with_format_json_writes_the_default_result(tmp_path: Path) -> None:
    run = trustscan(
        "scan",
        "--nmap-xml",
        str(FIXTURES / "nmap" / "apache-centos.xml"),
        "--format",
        "json",
        "--output-dir",
        str(tmp_path),
        env={"TRUSTSCAN_NMAP": "/nonexistent/nmap"},
    )
    assert run.code == 0, run.err
    assert read(tmp_path / "trustscan-result.json").nmap.source.endswith("apache-centos.xml")


def test_junit_has_one_case_per_rule_and_host(tmp_path: Path) -> None:
    saved = _saved_result(tmp_path)
    run = trustscan("report", str(saved), "--format", "junit", "--output-dir", str(tmp_path))
    assert run.code == 0, run.err
    text = (tmp_path / "trustscan-junit.xml").read_text(encoding="utf-8")
    # make_result: four rule-and-host pairs; with --fail-on never (exit 0) none fails.
    assert text.count("<testcase ") == 4
    assert text.count("<failure ") == 0
    assert text.count("<system-out>") == 4


def test_report_with_an_inventory_adds_an_assessment(tmp_path: Path) -> None:
    from scanner.result_io import write
    from tests.factories import make_result

    saved, out = tmp_path / "result.json", tmp_path / "out.json"
    write(make_result(), saved)
    inventory = FIXTURES / "inventory" / "demo-assets.yaml"
    run = trustscan(
        "report",
        str(saved),
        "--inventory",
        str(inventory),
        "--json",
        str(out),
        "--allow-incomplete",
    )
    assert run.code == 0, run.err
    assessment = read(out).assessment
    assert assessment is not None
    assert assessment.inventory_source == str(inventory)
    hosts = {h.host: h for h in assessment.hosts}
    assert hosts["127.0.0.10"].system == "legacy-shop (centos6-apache)"
    assert hosts["127.0.0.10"].owner == "web-team@example.test"
    # .10 is internet exposed with 120,000 customer records: its findings weigh more.
    top = assessment.findings[0]
    assert any("internet exposed" in factor for factor in top.factors)
    scores = [f.score for f in assessment.findings]
    assert scores == sorted(scores, reverse=True)


def test_report_with_a_bad_inventory_names_file_and_line(tmp_path: Path) -> None:
    from scanner.result_io import write
    from tests.factories import make_result

    saved = tmp_path / "result.json"
    write(make_result(), saved)
    bad = FIXTURES / "inventory" / "bad-assets.yaml"
    run = trustscan("report", str(saved), "--inventory", str(bad), "--json", str(tmp_path / "o"))
    assert run.code == 2
    assert f"{bad}:5:" in run.err


def test_inventory_is_an_option_of_scan_local_and_report() -> None:
    for command in ("scan", "local", "report"):
        assert "--inventory" in trustscan(command, "--help").out


def test_report_with_a_cost_per_record_states_it_and_its_source(tmp_path: Path) -> None:
    from scanner.result_io import write
    from tests.factories import make_result

    saved, out = tmp_path / "result.json", tmp_path / "out.json"
    write(make_result(), saved)
    inventory = FIXTURES / "inventory" / "demo-assets.yaml"
    run = trustscan(
        "report",
        str(saved),
        "--inventory",
        str(inventory),
        "--cost-per-record",
        "150",
        "--cost-currency",
        "eur",
        "--cost-source",
        "our insurer, 2026",
        "--json",
        str(out),
        "--allow-incomplete",
    )
    assert run.code == 0, run.err
    assessment = read(out).assessment
    assert assessment is not None
    cost = assessment.trust.cost
    assert cost is not None
    # legacy-shop (.10) is exposed: its three segments, 120,000 customers.
    assert (cost.records, cost.per_record, cost.currency) == (120_000, 150.0, "EUR")
    assert cost.source == "our insurer, 2026"
    assert cost.total == 18_000_000.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cost-per-record", "0"], "--cost-per-record"),
        (["--cost-per-record", "ten"], "--cost-per-record"),
        (["--cost-per-record", "10", "--cost-currency", "euros"], "ISO 4217"),
        (["--cost-source", "a guess"], "give that too"),
    ],
)
def test_bad_cost_options_exit_2_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    from scanner.result_io import write
    from tests.factories import make_result

    saved = tmp_path / "result.json"
    write(make_result(), saved)
    run = trustscan("report", str(saved), *args, "--json", str(tmp_path / "o.json"))
    assert run.code == 2
    assert message in run.err
    assert not (tmp_path / "o.json").exists()


def test_report_will_not_drop_the_inventory_a_result_was_assessed_with(tmp_path: Path) -> None:
    from scanner.assessment.inventory import load_inventory
    from scanner.assessment.risk import assessed
    from scanner.result_io import write
    from tests.factories import make_result

    saved = tmp_path / "result.json"
    inventory = FIXTURES / "inventory" / "demo-assets.yaml"
    write(assessed(make_result(), load_inventory(inventory)), saved)
    run = trustscan("report", str(saved), "--cost-per-record", "9", "--json", str(tmp_path / "o"))
    assert run.code == 2
    assert "--inventory again" in run.err
    assert str(inventory) in run.err


def test_cost_options_belong_to_scan_local_and_report() -> None:
    for command in ("scan", "local", "report"):
        help_text = trustscan(command, "--help").out
        assert "--cost-per-record" in help_text
        assert "--cost-source" in help_text


def test_scan_assesses_with_the_inventory_and_the_cost_given(tmp_path: Path) -> None:
    """The same options on `scan`: 127.0.0.10 is legacy-shop in the demo inventory."""
    loaded = _scan_recorded_xml(
        tmp_path,
        "--inventory",
        str(FIXTURES / "inventory" / "demo-assets.yaml"),
        "--cost-per-record",
        "10",
        "--cost-source",
        "a round figure for the test",
    )
    assert loaded.rule_set.endswith(tuple("0123456789abcdef"))
    assessment = loaded.assessment
    assert assessment is not None
    trust = assessment.trust
    assert trust.customers_at_risk == 120_000
    assert trust.cost is not None
    assert (trust.cost.total, trust.cost.source) == (1_200_000.0, "a round figure for the test")
    assert assessment.plan[0].system == "legacy-shop (centos6-apache)"


@pytest.mark.parametrize(
    ("name", "reason", "message"),
    [
        ("nmap-no-runstats.xml", "incomplete", "the XML ends before <runstats>"),
        ("nmap-error-exit.xml", "nmap-error", "the nmap run reported: "),
        ("nmap-bad-ports.xml", "invalid-entry", "port '-1' skipped: not a port number"),
        ("nmap-bad-hosts.xml", "invalid-entry", "is not an IPv4 address"),
    ],
)
def test_an_imported_xml_that_failed_or_was_cut_says_so(
    tmp_path: Path, name: str, reason: str, message: str
) -> None:
    out = tmp_path / "r.json"
    xml = FIXTURES / "hostile" / name
    run = trustscan("scan", "--nmap-xml", str(xml), "--json", str(out))
    assert run.code == 4, run.err  # incomplete: what was cut or dropped was not evaluated
    errors = json.loads(out.read_text())["probe_errors"]
    assert any(e["reason"] == reason and message in e["message"] for e in errors), errors
    assert f"{xml} ({reason}): " in run.err
    assert run.err.rstrip().splitlines()[-1].startswith("trustscan: incomplete: ")
    allowed = trustscan(
        "scan", "--nmap-xml", str(xml), "--json", str(out), "--allow-incomplete", "-q"
    )
    assert (allowed.code, allowed.out, allowed.err) == (0, "", "")


def test_report_renders_a_part_of_a_scan_assessed_again(tmp_path: Path) -> None:
    whole = make_result(
        hosts=(make_host(address="10.1.0.5"), make_host(address="10.2.0.7")),
        findings=(
            make_finding(host="10.1.0.5", severity=Severity.HIGH, rule_id="kept"),
            make_finding(host="10.1.0.5", severity=Severity.LOW, rule_id="too-mild"),
            make_finding(host="10.2.0.7", severity=Severity.CRITICAL, rule_id="elsewhere"),
        ),
    )
    source = tmp_path / "whole.json"
    source.write_text(dumps(assessed(whole)), encoding="utf-8")
    out = tmp_path / "part.json"
    run = trustscan(
        "report",
        str(source),
        "--host",
        "10.1.0.0/16",
        "--min-severity",
        "high",
        "--json",
        str(out),
        "--allow-incomplete",
    )
    assert run.code == 0, run.err
    part = json.loads(out.read_text())
    assert part["selection"] == "hosts 10.1.0.0/16; findings high or worse"
    assert [f["rule_id"] for f in part["findings"]] == ["kept"]
    assert [h["host"] for h in part["assessment"]["hosts"]] == ["10.1.0.5"]


@pytest.mark.parametrize("junk", ["http", "0", "8080-", "1-70000", "80;443", "", "9010-9000"])
def test_junk_extra_ports_exit_2_with_one_line_before_nmap(junk: str) -> None:
    # No nmap at all: the option is refused before nmap is looked for (exit 3).
    run = trustscan(
        "scan", "127.0.0.1", "--extra-ports", junk, env={"TRUSTSCAN_NMAP": "/nonexistent/nmap"}
    )
    assert run.code == 2, run.err
    line = _one_error_line(run)
    assert line.startswith("trustscan: error: --extra-ports: ")
    assert "give port numbers and ranges from 1 to 65535" in line


@requires_nmap
def test_an_nmap_option_choosing_ports_is_refused_with_the_fix() -> None:
    run = trustscan("scan", "127.0.0.1", "-p", "80", "--nmap-arg=--top-ports=100")
    assert run.code == 2
    line = _one_error_line(run)
    assert "'--top-ports=100' chooses ports" in line
    assert "--extra-ports PORTS" in line


# Output conventions and the exit gate, as a CI job meets them.

_CENTOS_XML = str(FIXTURES / "nmap" / "apache-centos.xml")
_NO_NMAP = {"TRUSTSCAN_NMAP": "/nonexistent/nmap"}


def test_a_scan_with_no_output_prints_its_findings_table(tmp_path: Path) -> None:
    run = trustscan("scan", "--nmap-xml", _CENTOS_XML, env=_NO_NMAP)
    assert run.code == 0, run.err
    header, *rows = run.out.splitlines()
    assert header.split() == ["SEVERITY", "ENDPOINT", "TITLE", "CONFIDENCE"]
    assert {row.split()[0] for row in rows} <= {"critical", "high", "medium", "low", "info"}
    assert any("Apache httpd 2.2 or older is end of life" in row for row in rows)
    assert len(rows) == 3  # the three findings of the recorded scan
    count, checked, not_scanned = run.err.splitlines()
    assert count.startswith("1 host(s) up, 3 finding(s)")
    # What was looked at and found clean, and what was not looked at.
    assert checked.startswith("trustscan: checked, clean: ")
    assert not_scanned.startswith("trustscan: not scanned: the other ")


def test_json_dash_prints_the_result_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a file named "-" would land here
    run = trustscan("scan", "--nmap-xml", _CENTOS_XML, "--json", "-", env=_NO_NMAP)
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert result["nmap"]["source"].endswith("apache-centos.xml")
    assert list(tmp_path.iterdir()) == []
    assert run.err.startswith("1 host(s) up, 3 finding(s)")


@pytest.mark.parametrize(
    ("fmt", "name", "check"),
    [
        ("sarif", "r.sarif", lambda text: json.loads(text)["version"] == "2.1.0"),
        ("junit", "r.xml", lambda text: text.startswith('<?xml version="1.0"')),
        ("json", "r.json", lambda text: json.loads(text)["schema_version"]),
        ("markdown", "r.md", lambda text: text.startswith("## trustscan")),
    ],
)
def test_format_with_dash_o_writes_that_format_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, name: str, check: Any
) -> None:
    saved = _saved_result(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    run = trustscan("report", str(saved), "--format", fmt, "-o", name)
    assert run.code == 0, run.err
    assert [p.name for p in work.iterdir()] == [name]  # no default-named file beside it
    text = (work / name).read_text(encoding="utf-8")
    assert "<!DOCTYPE html>" not in text
    assert check(text)
    assert run.err.splitlines()[0].endswith(f"wrote {name}")


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "sarif", "-o", "r.html"],
        ["-o", "r.sarif"],
        ["--json", "r.xml"],
        ["--format", "sarif", "--format", "junit", "-o", "r"],
        ["--json", "-", "--sarif", "-"],
    ],
)
def test_contradictory_outputs_exit_2_before_any_work(tmp_path: Path, args: list[str]) -> None:
    saved = _saved_result(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "scanner", "report", str(saved), *args],
        capture_output=True,
        text=True,
        cwd=work,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert run.stdout == ""
    assert list(work.iterdir()) == []


def test_dash_o_dash_prints_the_one_format_on_stdout(tmp_path: Path) -> None:
    saved = _saved_result(tmp_path)
    run = trustscan("report", str(saved), "--format", "sarif", "-o", "-", "--fail-on", "critical")
    assert run.code == 1  # the critical finding: stdout still carries the whole report
    log = json.loads(run.out)
    assert log["runs"][0]["automationDetails"]["id"].startswith("trustscan/targets-")
    assert "trustscan: failed: 1 finding(s) trip --fail-on critical" in run.err


# One batch answers at once (nmap is told to exclude its only target), the
# other is nmap made slow (10 s between probes, at least 20 s for three ports)
# against a 5 s batch timeout: it times out however fast the machine is.
_TARPIT, _EXCLUDED = f"{LAB_PREFIX}.231", f"{LAB_PREFIX}.232"
_TIMES_OUT = [
    _TARPIT,
    _EXCLUDED,
    "-p",
    "1-3",
    f"--nmap-arg=--exclude={_EXCLUDED}",
    "--nmap-arg=--scan-delay=10s",
    "--batch-size",
    "1",
    "--parallel",
    "2",
    "--batch-timeout",
    "5",
]


@requires_nmap
def test_a_batch_that_timed_out_makes_the_scan_incomplete(tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    run = trustscan("scan", *_TIMES_OUT, "--fail-on", "high", "--json", str(result))
    assert run.code == 4, run.err
    (error,) = read(result).probe_errors
    assert (error.stage, error.reason) == ("discovery", "timeout")
    assert (
        f"trustscan: not covered: 1 nmap batch(es) timed out: batch 1 ({_TARPIT}) (timeout): "
        "nmap did not finish within 5s; 1 target(s) of this batch were not scanned"
    ) in run.err.splitlines()
    assert run.err.rstrip().splitlines()[-1].startswith("trustscan: incomplete: 1 part(s)")
    allowed = trustscan("scan", *_TIMES_OUT, "--fail-on", "high", "--allow-incomplete")
    assert allowed.code == 0, allowed.err
    assert "not covered: 1 nmap batch(es) timed out" in allowed.err  # still said
    assert allowed.out == "No findings.\n"
