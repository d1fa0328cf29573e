"""An interrupted scan keeps its finished batches and resumes without redoing them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.lab.servers import Lab
from scanner import pipeline
from scanner.discovery import checkpoint
from scanner.discovery.nmap_runs import BatchOutcome, DiscoveryOptions
from scanner.model import Target, TargetKind
from scanner.support.errors import InputError
from tests.support import EMPTY_HOST, requires_nmap


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def batch_done(self, outcome: BatchOutcome | None, done: int, total: int) -> None:
        self.calls.append((done, total))


def _wait_for_lines(path: Path, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text(encoding="utf-8").splitlines()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never reached {count} lines")


@pytest.mark.integration
@requires_nmap
def test_a_killed_scan_resumes_from_its_saved_batches(lab: Lab, tmp_path: Path) -> None:
    web = [r for r in lab.running if r.port == 80]
    addresses = [EMPTY_HOST, *(r.address for r in web)]  # the empty host finishes first
    result = tmp_path / "result.json"
    partial = checkpoint.partial_path(result)
    args = [*addresses, "-p", "80", "--batch-size", "1", "--parallel", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", *args, "--json", str(result), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_lines(partial, 2, timeout=60)  # header + the first finished batch
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert not result.exists()
    saved = partial.read_text(encoding="utf-8").splitlines()
    assert json.loads(saved[1])["targets"][0]["value"] == EMPTY_HOST

    targets = tuple(Target(a, TargetKind.ADDRESS, "test") for a in addresses)
    request = pipeline.ScanRequest(targets, (), (), DiscoveryOptions(ports="80", batch_size=1))
    recorder = _Recorder()
    resumed = pipeline.scan(request, [recorder], partial, resume=True)
    done_at_start = recorder.calls[0][0]
    assert done_at_start == len(saved) - 1 >= 1
    assert recorder.calls[-1] == (len(addresses), len(addresses))
    assert sorted(h.address for h in resumed.hosts) == sorted(addresses)
    assert len(resumed.nmap.commands) == len(addresses)


def test_progress_of_another_scan_is_refused(tmp_path: Path) -> None:
    partial = tmp_path / "r.json.partial"
    partial.write_text(json.dumps({"format": 1, "key": "other"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="different scan"):
        checkpoint.load(partial, "mine")


def test_a_half_written_last_line_is_dropped(tmp_path: Path) -> None:
    partial = tmp_path / "r.json.partial"
    partial.write_text(json.dumps({"format": 1, "key": "k"}) + '\n{"targets": [', encoding="utf-8")
    assert checkpoint.load(partial, "k") == []


def test_a_damaged_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    partial = tmp_path / "r.json.partial"
    header = json.dumps({"format": 1, "key": "k"})
    partial.write_text(f"{header}\nnot json\n{{}}\n", encoding="utf-8")
    with pytest.raises(InputError, match=":2: damaged"):
        checkpoint.load(partial, "k")
