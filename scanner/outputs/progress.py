"""A progress bar on stderr, only on a terminal: hosts scanned during
discovery, then each long step (reading a large nmap XML, evaluating rules,
assessing coverage and risk, recording the history and storing the result
there, writing the reports) as it goes."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from scanner.discovery.nmap_runs import BatchOutcome

# Redraws at most this often: evaluating 100,000 hosts reports every host.
_REDRAW = 0.1


def _amount(count: int, unit: str) -> str:
    if unit == "bytes":
        return f"{count / 1_000_000:,.1f} MB"
    return f"{count:,}"


class TerminalProgress:
    width = 30

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._drawn = False
        self._last: tuple[str, float] = ("", 0.0)

    def batch_done(self, outcome: BatchOutcome | None, done: int, total: int) -> None:
        """Discovery's observer: hosts scanned so far."""
        self.step("scanning", done, total, "hosts")

    def step(self, what: str, done: int, total: int, unit: str = "") -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        with self._lock:
            if what == self._last[0] and now - self._last[1] < _REDRAW and not finished:
                return
            self._last = (what, now)
            filled = self.width * min(done, total) // total if total else self.width
            bar = "#" * filled + "." * (self.width - filled)
            count = f"{_amount(done, unit)}/{_amount(total, unit)}"
            tail = f" {unit}" if unit and unit != "bytes" else ""
            # \x1b[K clears what a longer line before left on the right.
            self._stream.write(f"\r{what} [{bar}] {count}{tail}\x1b[K")
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
