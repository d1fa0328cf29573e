"""SIGTERM handled like Ctrl-C: both end a run the same clean way.

Python's default SIGTERM kills the process on the spot, with no chance to
stop the nmap children or close the checkpoint. `install()` turns SIGTERM into
`Interrupted` (a KeyboardInterrupt), raised in the main thread, so the code
that stops queued work for Ctrl-C handles both; `signal_of()` tells which it was.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Handle SIGTERM like SIGINT. Only the main thread may set handlers."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise)


def signal_of(exc: KeyboardInterrupt) -> signal.Signals:
    return signal.Signals(getattr(exc, "signum", signal.SIGINT))


def exit_code(exc: KeyboardInterrupt) -> int:
    """The shell's convention: 128 plus the signal number (130 for Ctrl-C)."""
    return 128 + int(signal_of(exc))
