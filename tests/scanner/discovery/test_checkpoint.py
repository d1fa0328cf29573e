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
from scanner.discovery.nmap_xml import NmapReport
from scanner.model import Target, TargetKind
from scanner.support.errors import InputError
from tests.factories import make_host
from tests.faults import capture_log, fill, small_tmpfs
from tests.support import EMPTY_HOST, requires_nmap, requires_root


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


def _outcome(address: str, hosts: int = 1) -> BatchOutcome:
    report = NmapReport(
        "7.93", "nmap -sV", "tcp:80", tuple(make_host(address=address) for _ in range(hosts)), True
    )
    return BatchOutcome((Target(address, TargetKind.ADDRESS, "target"),), report, None)


def test_a_half_written_last_line_is_dropped(tmp_path: Path) -> None:
    partial = tmp_path / "r.json.partial"
    partial.write_text(json.dumps({"format": 1, "key": "k"}) + '\n{"targets": [', encoding="utf-8")
    assert checkpoint.load(partial, "k") == []


def test_a_resume_cuts_the_torn_line_before_appending(tmp_path: Path) -> None:
    partial = tmp_path / "r.json.partial"
    writer = checkpoint.CheckpointWriter(partial, "k", resumed=False)
    writer.batch_done(_outcome("127.0.0.1"), 1, 3)
    writer.close()
    whole = partial.read_bytes()
    # Killed mid-write: half a line, even one that parses, without its newline.
    partial.write_bytes(whole + b'{"targets":[]}')
    assert len(checkpoint.load(partial, "k")) == 1
    assert partial.read_bytes() == whole
    writer = checkpoint.CheckpointWriter(partial, "k", resumed=True)
    writer.batch_done(_outcome("127.0.0.2"), 2, 3)
    writer.close()
    again = checkpoint.load(partial, "k")
    assert [o.targets[0].value for o in again] == ["127.0.0.1", "127.0.0.2"]
    assert checkpoint.saved_batches(partial) == 2


def test_a_torn_header_is_no_progress_at_all(tmp_path: Path) -> None:
    partial = tmp_path / "r.json.partial"
    partial.write_text('{"format": 1, "ke', encoding="utf-8")
    assert checkpoint.load(partial, "k") == []
    assert partial.read_bytes() == b""


@requires_root
def test_a_full_disk_stops_saving_cleanly_and_keeps_what_was_saved(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "64k") as disk:
        partial = disk / "r.json.partial"
        writer = checkpoint.CheckpointWriter(partial, "k", resumed=False)
        writer.batch_done(_outcome("127.0.0.1"), 1, 3)
        saved = partial.read_bytes()
        fill(disk, keep=512)
        with capture_log() as warnings:
            writer.batch_done(_outcome("127.0.0.2", hosts=40), 2, 3)  # larger than what is left
            writer.batch_done(_outcome("127.0.0.3"), 3, 3)  # no longer tried
        writer.close()
        assert "No space left on device" in writer.problem
        assert warnings == [writer.problem]
        assert partial.read_bytes() == saved
        (kept,) = checkpoint.load(partial, "k")
        assert kept.targets[0].value == "127.0.0.1"


def test_a_damaged_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    partial = tmp_path / "r.json.partial"
    header = json.dumps({"format": 1, "key": "k"})
    partial.write_text(f"{header}\nnot json\n{{}}\n", encoding="utf-8")
    with pytest.raises(InputError, match=":2: damaged"):
        checkpoint.load(partial, "k")
