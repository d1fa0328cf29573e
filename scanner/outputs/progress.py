"""A progress bar on stderr: hosts done of total, only on a terminal."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from scanner.discovery.nmap_runs import BatchOutcome


class TerminalProgress:
    width = 30

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._drawn = False

    def batch_done(self, outcome: BatchOutcome | None, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        with self._lock:
            self._stream.write(f"\rscanning [{bar}] {done}/{total} hosts")
            self._stream.flush()
            self._drawn = True

    def close(self) -> None:
        with self._lock:
            if self._drawn:
                self._stream.write("\n")
                self._stream.flush()
                self._drawn = False


def wants_progress(quiet: bool, stream: TextIO | None = None) -> bool:
    target = stream or sys.stderr
    return not quiet and target.isatty()
