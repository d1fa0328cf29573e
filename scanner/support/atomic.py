"""Write output files atomically: a reader sees the old file or the new one.

The temporary file sits beside the target (`.NAME.PID.XXXX.tmp`) so that the
rename stays on one file system. A process killed mid-write (`kill -9`) leaves
it behind, full size; the PID in its name lets the next write remove the
temporary files of writers that are gone, and only those.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

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


def write_text_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write `text` (a string, or its pieces in order: a large report is
    written as it is rendered) to `path`, atomically."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    remove_stale(directory, _temp_pattern(path.name))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
