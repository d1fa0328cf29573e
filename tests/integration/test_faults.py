"""Faults an unattended scan meets, caused for real: Ctrl-C and SIGTERM mid-scan,
trustscan or nmap killed, a disk that fills while progress and reports are
written. nmap is made slow on purpose (`--scan-delay`), so these tests wait
for events, never for the machine to be fast."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.discovery.checkpoint import saved_batches
from tests.faults import PATIENCE, fill, gone, small_tmpfs, wait_for
from tests.support import LAB_PREFIX, REPO, requires_nmap, requires_root, trustscan

pytestmark = [pytest.mark.integration, requires_nmap]

# Addresses of the tests' lab block where nothing listens: every port closed.
QUIET = [f"{LAB_PREFIX}.{n}" for n in range(221, 226)]
# Each batch is one host, at least 3 s of nmap: probes 1 s apart.
SLOW = ["-p", "1-3", "--nmap-arg=--scan-delay=1s", "--batch-size", "1", "--parallel", "1"]


def _sigint_as_a_terminal_sends_it() -> None:
    # A suite started in the background (`cmd &` in a script) hands its
    # children SIGINT ignored, and trustscan, like any well-behaved program,
    # keeps an inherited "ignore": the scan under test gets it as Ctrl-C does.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_as_a_terminal_sends_it,
    )


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


def _first_children(process: subprocess.Popen[str]) -> list[int]:
    """The first children `process` starts (its nmap), once there are some."""
    found: list[int] = []

    def started() -> bool:
        found[:] = _children(process.pid)
        return bool(found)

    wait_for(started, "nmap to start")
    return found


def _interrupt_after_one_batch(signum: int, tmp_path: Path) -> tuple[int, int, str, list[int]]:
    """Scan, send `signum` once one batch is saved; the exit code, the batches
    saved when the signal went and when trustscan had exited, its stderr and
    the nmap processes seen."""
    scan = _start(*QUIET, *SLOW, "--json", "r.json", "-q", cwd=tmp_path)
    partial = tmp_path / "r.json.partial"
    nmaps: set[int] = set()

    def one_saved() -> bool:
        nmaps.update(_children(scan.pid))
        return saved_batches(partial) >= 1

    wait_for(one_saved, "the first batch to be saved")
    nmaps.update(_children(scan.pid))
    before = saved_batches(partial)
    scan.send_signal(signum)
    _out, err = scan.communicate(timeout=PATIENCE)
    assert scan.returncode is not None
    return scan.returncode, before, err, sorted(nmaps)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_scan_at_once_and_it_resumes(
    tmp_path: Path, signum: int, code: int
) -> None:
    exit_code, before, err, nmaps = _interrupt_after_one_batch(signum, tmp_path)
    partial = tmp_path / "r.json.partial"
    assert exit_code == code
    # Queued batches did not run: at most the one in flight finished meanwhile.
    after = saved_batches(partial)
    assert before <= after <= before + 1
    assert after < len(QUIET)
    assert all(gone(pid) for pid in nmaps), "an nmap outlived the interrupted scan"
    name = signal.Signals(signum).name
    assert re.fullmatch(
        rf"trustscan: interrupted by {name}; {after} finished nmap batch\(es\) saved in "
        r"r\.json\.partial: run the same command with --resume to continue\n",
        err,
    ), err
    resumed = _start(*QUIET, *SLOW, "--json", "r.json", "-q", "--resume", cwd=tmp_path)
    _out, err = resumed.communicate(timeout=PATIENCE * 2)
    assert resumed.returncode == 0, err
    result = json.loads((tmp_path / "r.json").read_text())
    assert sorted(h["address"] for h in result["hosts"]) == QUIET
    assert not partial.exists()


def test_an_interrupted_scan_without_a_result_file_says_nothing_was_saved(tmp_path: Path) -> None:
    scan = _start(*QUIET, *SLOW, "-q", cwd=tmp_path)
    wait_for(lambda: _children(scan.pid), "nmap to start")
    scan.send_signal(signal.SIGINT)
    _out, err = scan.communicate(timeout=PATIENCE)
    assert scan.returncode == 130
    assert err == (
        "trustscan: interrupted by SIGINT; nothing was saved: progress is kept only "
        "beside a result file (--json)\n"
    )


def test_nmap_does_not_outlive_a_killed_trustscan(tmp_path: Path) -> None:
    scan = _start(*QUIET, *SLOW, "--json", "r.json", cwd=tmp_path)
    nmaps = _first_children(scan)
    scan.kill()
    scan.communicate(timeout=PATIENCE)
    wait_for(lambda: all(gone(pid) for pid in nmaps), "the orphaned nmap to exit")


def test_a_killed_nmap_loses_only_its_batch(tmp_path: Path) -> None:
    scan = _start(*QUIET[:2], *SLOW, "--json", "r.json", "-q", cwd=tmp_path)
    first = _first_children(scan)
    os.kill(first[0], signal.SIGKILL)
    _out, err = scan.communicate(timeout=PATIENCE)
    assert scan.returncode == 4, err  # incomplete: one batch was lost
    assert f"not covered: 1 nmap batch(es) failed: batch 1 ({QUIET[0]}) (nmap-error)" in err
    result = json.loads((tmp_path / "r.json").read_text())
    assert [h["address"] for h in result["hosts"]] == [QUIET[1]]
    (error,) = result["probe_errors"]
    assert error["reason"] == "nmap-error"
    assert error["message"] == "nmap failed: it was killed by SIGKILL"
    assert QUIET[0] in error["target"]


@requires_root
def test_a_full_disk_at_the_outputs_is_one_line_and_the_scan_can_be_resumed(
    tmp_path: Path,
) -> None:
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        filler = fill(disk, keep=8192)  # room for the progress, not for the reports
        outputs = ("--json", str(disk / "r.json"), "-o", str(disk / "r.html"))
        run = trustscan("scan", QUIET[0], "-p", "1-3", *outputs)
        assert run.code == 2
        assert "Traceback" not in run.err
        assert re.fullmatch(
            rf"trustscan: error: cannot write {re.escape(str(disk))}/r\.(json|html): "
            r"No space left on device\n",
            run.err,
        ), run.err
        partial = disk / "r.json.partial"
        assert saved_batches(partial) == 1
        assert not [p for p in disk.iterdir() if p.name.endswith(".tmp")]
        filler.unlink()
        again = trustscan("scan", QUIET[0], "-p", "1-3", *outputs, "--resume")
        assert again.code == 0, again.err
        assert json.loads((disk / "r.json").read_text())["hosts"][0]["address"] == QUIET[0]
        assert not partial.exists()


@requires_root
def test_a_disk_full_before_the_progress_is_saved_warns_and_fails_cleanly(
    tmp_path: Path,
) -> None:
    with small_tmpfs(tmp_path / "disk", "256k") as disk:
        fill(disk, keep=0)
        run = trustscan("scan", QUIET[0], "-p", "1-3", "--json", str(disk / "r.json"))
        assert run.code == 2
        assert "Traceback" not in run.err
        warning, error = run.err.splitlines()
        assert warning == (
            f"trustscan: warning: cannot save progress to {disk}/r.json.partial: No space left "
            "on device; the scan goes on, but cannot be resumed if it is interrupted"
        )
        assert error == f"trustscan: error: cannot write {disk}/r.json: No space left on device"
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def _wrapper(tmp_path: Path, xml: str) -> Path:
    """An nmap stand-in, as a site's wrapper script would be: it answers
    `-V` as nmap does and writes `xml` where -oX points."""
    script = tmp_path / "nmap-wrapper"
    (tmp_path / "out.xml").write_text(xml)
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -V ]; then echo "Nmap version 7.93 ( https://nmap.org )"; exit 0; fi\n'
        f'[ "$1" = -oX ] && cp {tmp_path / "out.xml"} "$2"\n'
    )
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><nmaprun><host><address/></host></nmaprun>',  # no runstats
        "<nmaprun><host><ports><port/></ports></host><runstats/></nmaprun>",
        "<nmaprun>",
        "not xml at all",
        "",
    ],
)
def test_a_wrapper_printing_odd_xml_is_one_line_not_a_traceback(tmp_path: Path, xml: str) -> None:
    run = trustscan("scan", QUIET[0], "-p", "1", "--nmap", str(_wrapper(tmp_path, xml)))
    assert run.code == 3
    assert "Traceback" not in run.err
    assert run.err.startswith("trustscan: error: nmap failed for every batch: ")
    assert len(run.err.splitlines()) == 1
