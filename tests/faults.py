"""Faults the tests cause for real: a small file system that fills up, the
warnings trustscan logs meanwhile, and waiting for a process event (never
for the machine to be fast)."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` (root only), unmounted afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        check=True,
        capture_output=True,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def fill(disk: Path, keep: int) -> Path:
    """Fill `disk` until about `keep` bytes are left (whole 4 KiB pages: a
    tmpfs counts pages); the filler file."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 4096)
    pages = -(-keep // 4096)
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - pages * 4096))
    return filler


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def capture_log() -> Iterator[list[str]]:
    """The messages logged to the `trustscan` logger meanwhile."""
    handler = _Collect()
    log = logging.getLogger("trustscan")
    log.addHandler(handler)
    try:
        yield handler.messages
    finally:
        log.removeHandler(handler)


PATIENCE = 120.0  # how long a test waits for an event before it gives up


def wait_for(check: Callable[[], object], what: str) -> None:
    """Poll `check` until it is true; fail after PATIENCE seconds."""
    give_up = time.monotonic() + PATIENCE
    while not check():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """The process has exited: no such process, or a zombie awaiting its reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
