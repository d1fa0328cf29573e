"""Atomic writes, and the temporary files of writers that were killed."""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from scanner.support.atomic import (
    destination,
    write_output,
    write_private_atomic,
    write_text_atomic,
)
from scanner.support.errors import InputError
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


# write_output: atomic for regular files, written through for everything else.


def test_a_regular_file_is_replaced_atomically_and_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "private.json"
    target.write_text("old")
    target.chmod(0o600)
    before = target.stat().st_ino
    write_output(target, ["new ", "text"])
    assert target.read_text() == "new text"
    assert target.stat().st_ino != before  # a new file renamed over the old one
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["private.json"]


def test_a_new_file_is_readable_by_all(tmp_path: Path) -> None:
    target = tmp_path / "new.sarif"
    write_output(target, "x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_symlink_stays_and_its_target_is_replaced_in_its_own_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "reports"
    elsewhere.mkdir()
    target = elsewhere / "latest.sarif"
    target.write_text("old")
    before = target.stat().st_ino
    link = tmp_path / "r.sarif"
    link.symlink_to(Path("reports") / "latest.sarif")  # relative, as ln -s makes them
    write_output(link, "new")
    assert link.is_symlink()
    assert os.readlink(link) == "reports/latest.sarif"
    assert target.read_text() == "new"
    assert target.stat().st_ino != before  # replaced, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.sarif", "reports"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["latest.sarif"]


def test_a_chain_of_symlinks_and_a_dangling_one_are_followed(tmp_path: Path) -> None:
    final = tmp_path / "final.json"
    (tmp_path / "middle").symlink_to(final)  # dangling: final does not exist yet
    first = tmp_path / "first"
    first.symlink_to(tmp_path / "middle")
    write_output(first, "{}")
    assert final.read_text() == "{}"
    assert first.is_symlink()
    assert (tmp_path / "middle").is_symlink()


def test_a_symlink_loop_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(InputError, match="too many levels of symbolic links"):
        write_output(tmp_path / "a", "x")


def test_a_fifo_is_written_through_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as reader:  # blocks until the writer opens it
            got.append(reader.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    write_output(fifo, ["first ", "second\n"])
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert got == [b"first second\n"]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.fifo"]  # no temporary left


def _null_device(directory: Path) -> Path:
    """A character device to write to. As root, a private copy of /dev/null's
    node: were the code wrong, root could replace the real one."""
    if os.geteuid() != 0:
        return Path(os.devnull)  # without root, /dev cannot be replaced anyway
    node = directory / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        node.write_text("")  # a file system mounted nodev refuses to open it
    except OSError:
        pytest.skip("cannot make and open a device node here")
    return node


def test_a_character_device_is_written_through_never_replaced(tmp_path: Path) -> None:
    device = _null_device(tmp_path)
    link = tmp_path / "null-link"
    link.symlink_to(device)
    before = os.stat(device)
    for path in (device, link):
        where = destination(path)
        assert (where.path, where.through, where.fd) == (device, True, None)
        write_output(path, "discarded")
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert link.is_symlink()
    assert all(".tmp" not in p.name for p in tmp_path.iterdir())


def test_a_descriptor_of_this_process_is_written_through_it(tmp_path: Path) -> None:
    """What /dev/stdout is: a link into /proc/self/fd. Here a pipe of our own
    stands for standard output (the real one is never touched in a test)."""
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)  # an empty pipe fails the test, never hangs it
    try:
        alias = tmp_path / "stdout-alias"
        alias.symlink_to(f"/proc/self/fd/{write_end}")  # as /dev/stdout -> /proc/self/fd/1
        for path in (alias, Path(f"/dev/fd/{write_end}")):
            where = destination(path)
            assert where.through
            assert where.fd == write_end
        write_output(alias, "through the pipe\n")
        assert os.read(read_end, 100) == b"through the pipe\n"
        assert alias.is_symlink()
        assert os.readlink(alias) == f"/proc/self/fd/{write_end}"
        assert stat.S_ISFIFO(os.fstat(write_end).st_mode)  # still our pipe, still open
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_descriptor_to_a_file_is_not_replaced(tmp_path: Path) -> None:
    """`trustscan ... --sarif /dev/stdout >> log`: the text goes where the
    descriptor writes (appended), and the file is the same file afterwards."""
    log = tmp_path / "ci.log"
    log.write_text("earlier lines\n")
    before = log.stat().st_ino
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        write_output(Path(f"/proc/self/fd/{fd}"), "report\n")
    finally:
        os.close(fd)
    assert log.read_text() == "earlier lines\nreport\n"
    assert log.stat().st_ino == before


@pytest.mark.parametrize("kind", ["directory", "socket"])
def test_what_no_report_belongs_in_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / kind
    if kind == "directory":
        path.mkdir()
        with pytest.raises(InputError, match="it is a directory"):
            write_output(path, "x")
        return
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(InputError, match="it is a socket"):
            write_output(path, "x")
    finally:
        server.close()
    assert stat.S_ISSOCK(path.lstat().st_mode)


def test_a_private_file_is_0600_whatever_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "cache.pickle"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_private_atomic(target, b"\x00new\xff")
    assert target.read_bytes() == b"\x00new\xff"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.pickle"]
