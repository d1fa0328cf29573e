"""Write output files atomically: a reader sees the old file or the new one.

The temporary file sits beside the target (`.NAME.PID.XXXX.tmp`) so that the
rename stays on one file system. A process killed mid-write (`kill -9`) leaves
it behind, full size; the PID in its name lets the next write remove the
temporary files of writers that are gone, and only those.

Only a regular file (or a path where nothing is yet) is replaced so
(`write_output`). A symlink is followed and its target replaced in the
target's own directory, so the link stays a link. A FIFO or a character
device (`/dev/null`, a terminal) is opened and written through, as a shell's
`>` would: replacing it would put a regular file where a reader or a device
was. A path that leads through `/proc/PID/fd` (`/dev/stdout`, `/dev/fd/3`) is
a file descriptor, whatever it points at, and is written through too: this
process's own descriptors directly, so that a pipe, a terminal or a file the
shell opened for appending gets the text where its writer would put it.
Renaming over `/dev/stdout` would replace, for a process running as root, the
system's own `/dev/stdout` link.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from scanner.support.errors import InputError

# Temporary files of the format before PIDs were in the name: removed once old.
_LEGACY_AGE = 3600.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_stale(directory: Path, pattern: re.Pattern[str]) -> list[Path]:
    """Remove entries of `directory` whose name matches `pattern` (a group
    named `pid`) and whose writer is no longer running; those removed."""
    removed: list[Path] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        path = directory / name
        pid = match.group("pid")
        if pid is not None and (int(pid) == os.getpid() or pid_alive(int(pid))):
            continue
        if pid is None:
            with contextlib.suppress(OSError):
                if now - path.lstat().st_mtime < _LEGACY_AGE:
                    continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                for child in path.iterdir():
                    child.unlink()
                path.rmdir()
            else:
                path.unlink()
            removed.append(path)
    return removed


def _temp_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(name)}\.(?:(?P<pid>\d+)\.)?[A-Za-z0-9_]+\.tmp")


def _mode_of(path: Path) -> int:
    """The replaced file keeps its permissions (a report kept private stays
    private); a new one is readable by all, as reports are shared."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o644


def write_text_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write `text` (a string, or its pieces in order: a large report is
    written as it is rendered) to `path`, atomically."""
    _write_atomic(Path(path), text, None)


def write_private_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, readable and writable by its owner
    alone (0600) from the start: a cache of the user's own, which nobody else
    may read or change."""
    _write_atomic(Path(path), data, 0o600)


def _write_atomic(path: Path, data: bytes | str | Iterable[str], mode: int | None) -> None:
    """`mode` None: the replaced file's permissions, or 0644 for a new one."""
    directory = path.parent if str(path.parent) else Path(".")
    remove_stale(directory, _temp_pattern(path.name))
    # mkstemp makes the file 0600: nobody else sees it before the chmod.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                write_pieces(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_of(path) if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# Where a process's descriptors are, once /proc/self (or thread-self) is resolved.
_FD_DIR = re.compile(r"/proc/(?P<pid>\d+)(?:/task/\d+)?/fd")
# Linux gives up after 40 links (ELOOP); so do we.
_MAX_LINKS = 40


@dataclass(frozen=True)
class Destination:
    """Where an output really goes, and how it is written there."""

    path: Path  # the end of the symlinks
    through: bool  # written through (opened and written), never replaced
    fd: int | None = None  # one of this process's own descriptors (/dev/stdout)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file, a FIFO or a character device"


def destination(path: Path) -> Destination:
    """Follow `path`'s symlinks one by one (a descriptor in /proc is not
    followed: it is the destination) to where an output must be written.

    Raise InputError for what no report should be written into: a directory,
    a block device, a socket, a loop of symlinks."""
    current = Path(os.path.abspath(path))
    for _ in range(_MAX_LINKS):
        if current.name in ("", ".", ".."):
            current = Path(os.path.realpath(current))
        parent = os.path.realpath(current.parent)
        fds = _FD_DIR.fullmatch(parent)
        if fds is not None:
            own = int(fds.group("pid")) == os.getpid() and current.name.isdigit()
            return Destination(
                Path(parent) / current.name, True, int(current.name) if own else None
            )
        current = Path(parent) / current.name
        try:
            target = os.readlink(current)
        except OSError:  # not a link (or not there): the end of the chain
            break
        current = Path(parent) / target  # an absolute target replaces the parent
    else:
        raise InputError(f"cannot write {path}: too many levels of symbolic links")
    try:
        mode = os.stat(current).st_mode
    except FileNotFoundError:
        return Destination(current, False)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISREG(mode):
        return Destination(current, False)
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return Destination(current, True)
    raise InputError(f"cannot write {path}: it is {_kind(mode)}")


def write_pieces(handle: BinaryIO, text: str | Iterable[str]) -> None:
    """`text` (a string, or its pieces in order) to a binary stream, as UTF-8."""
    for piece in (text,) if isinstance(text, str) else text:
        handle.write(piece.encode("utf-8"))
    handle.flush()


def write_through(where: Destination, text: str | Iterable[str]) -> None:
    """Open and write, never create, truncate or replace: a FIFO, a device, a descriptor."""
    if where.fd is not None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()  # what Python buffered for the descriptor goes first
        fd = os.dup(where.fd)
    else:
        # No O_CREAT: the FIFO or device is there, or this fails rather than
        # leave a regular file in its place. Opening a FIFO waits for a reader.
        fd = os.open(where.path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    with os.fdopen(fd, "wb") as handle:
        write_pieces(handle, text)


def write_output(path: Path, text: str | Iterable[str]) -> None:
    """Write an output file: atomically where it is (or will be) a regular
    file, the target of a symlink included; written through otherwise."""
    where = destination(path)
    if where.through:
        write_through(where, text)
    else:
        write_text_atomic(where.path, text)
