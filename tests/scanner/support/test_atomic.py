"""Atomic writes, and the temporary files of writers that were killed."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from scanner.support.atomic import write_text_atomic
from tests.faults import fill, small_tmpfs
from tests.support import requires_root


def _dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_the_new_file_replaces_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_temporary_files_of_killed_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    stale = tmp_path / f".report.html.{_dead_pid()}.k1ll3d.tmp"
    live = tmp_path / f".report.html.{os.getppid()}.w0rk1n.tmp"  # a running process
    other = tmp_path / f".other.html.{_dead_pid()}.abc.tmp"  # another output's: not ours
    for path in (stale, live, other):
        path.write_bytes(b"x" * 4096)
    write_text_atomic(target, "new")
    assert not stale.exists()
    assert live.exists()
    assert other.exists()
    assert target.read_text() == "new"


@requires_root
def test_a_full_disk_fails_the_write_and_leaves_the_old_file_and_no_temporary(
    tmp_path: Path,
) -> None:
    with small_tmpfs(tmp_path / "disk", "256k") as disk:
        target = disk / "report.html"
        target.write_text("old")
        fill(disk, keep=4096)
        with pytest.raises(OSError, match="No space left") as info:
            write_text_atomic(target, "x" * 200_000)
        assert info.value.errno == errno.ENOSPC
        assert target.read_text() == "old"
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "report.html"]
