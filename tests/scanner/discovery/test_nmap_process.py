"""nmap children: stopped on cancel and at their timeout, and never outliving
trustscan, with a real nmap made deliberately slow (`--scan-delay`), so
nothing here depends on the machine's speed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from scanner.discovery.nmap_process import (
    NmapExit,
    NmapProcesses,
    nmap_binary,
    run_nmap,
    scratch_dir,
)
from scanner.discovery.nmap_runs import read_report
from tests.faults import PATIENCE, gone, wait_for
from tests.support import REPO, requires_nmap

pytestmark = requires_nmap

# 200 probes at least 5 s apart: over 16 minutes whatever the machine.
SLOW = ["-Pn", "-n", "-p", "1-200", "--scan-delay", "5s", "127.0.0.1"]


def _in_thread(processes: NmapProcesses, work: Path) -> tuple[threading.Thread, list[NmapExit]]:
    ended: list[NmapExit] = []
    binary = nmap_binary(None)
    thread = threading.Thread(
        target=lambda: ended.append(run_nmap(binary, SLOW, work, None, processes))
    )
    thread.start()
    wait_for(lambda: processes.pids(), "nmap to start")
    return thread, ended


def test_cancel_stops_the_running_nmap_and_refuses_new_ones(tmp_path: Path) -> None:
    processes = NmapProcesses()
    thread, ended = _in_thread(processes, tmp_path)
    (pid,) = processes.pids()
    processes.cancel()
    thread.join(PATIENCE)
    assert not thread.is_alive()
    assert ended[0].cancelled
    assert gone(pid)
    again = run_nmap(nmap_binary(None), SLOW, tmp_path, None, processes)
    assert again.cancelled
    assert again.returncode is None
    assert processes.pids() == []


def test_a_run_past_its_timeout_is_stopped_and_said(tmp_path: Path) -> None:
    ended = run_nmap(nmap_binary(None), SLOW, tmp_path, 1.0, NmapProcesses())
    assert ended.timed_out
    assert not ended.cancelled
    report, reason, message = read_report(ended, "batch 1", 1.0)
    assert report is None
    assert (reason, message) == ("timeout", "nmap did not finish within 1s")


def test_a_killed_nmap_is_said_to_be_killed(tmp_path: Path) -> None:
    processes = NmapProcesses()
    thread, ended = _in_thread(processes, tmp_path)
    (pid,) = processes.pids()
    os.kill(pid, signal.SIGKILL)
    thread.join(PATIENCE)
    report, reason, message = read_report(ended[0], "batch 1", 60)
    assert report is None
    assert reason == "nmap-error"
    assert message == "nmap failed: it was killed by SIGKILL"


def test_nmap_dies_with_trustscan_even_on_sigkill(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    code = (
        "import sys; from pathlib import Path; "
        "from scanner.discovery.nmap_process import NmapProcesses, nmap_binary, run_nmap; "
        f"run_nmap(nmap_binary(None), {SLOW!r}, Path(sys.argv[1]), None, NmapProcesses())"
    )
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO)
    try:
        children: list[int] = []

        def started() -> bool:
            found = subprocess.run(
                ["pgrep", "-P", str(parent.pid)], capture_output=True, text=True, check=False
            )
            children[:] = [int(pid) for pid in found.stdout.split()]
            return bool(children)

        wait_for(started, "nmap to start")
        parent.kill()
        parent.wait(PATIENCE)
        wait_for(lambda: all(gone(pid) for pid in children), "the orphaned nmap to exit")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_scratch_directories_of_dead_runs_are_removed() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    base = Path(tempfile.gettempdir())
    stale = base / f"trustscan-nmap-{dead.pid}-abc123"
    mine = base / f"trustscan-nmap-{os.getpid()}-keepme"
    for directory in (stale, mine):
        directory.mkdir(exist_ok=True)
        (directory / "nmap.xml").write_text("<nmaprun")
    try:
        with scratch_dir() as work:
            assert Path(work).name.startswith(f"trustscan-nmap-{os.getpid()}-")
        assert not stale.exists()
        assert mine.exists()
    finally:
        for directory in (stale, mine):
            if directory.exists():
                (directory / "nmap.xml").unlink()
                directory.rmdir()
