"""One nmap process: started, bounded in time, cancellable, and never outliving trustscan.

python-nmap finds and checks the binary (`PortScanner` runs `nmap -V`), but
its `scan()` keeps the child to itself: a batch cannot be stopped when the
user presses Ctrl-C, and the child is orphaned when trustscan is killed. So
the process is started here:

- the XML goes to a file in a private directory (`-oX`), not through a pipe,
  so a large scan is parsed from disk as a stream;
- stderr is kept to a bounded size (what nmap said when it failed);
- on Linux the child asks the kernel for SIGTERM when its parent thread dies
  (`PR_SET_PDEATHSIG`), so even `kill -9` of trustscan stops nmap;
- `NmapProcesses.cancel()` stops every running child and refuses new ones.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nmap

from scanner.support.atomic import remove_stale
from scanner.support.errors import ScanFailed

NMAP_MISSING = (
    "nmap was not found: install it (Debian/Ubuntu: `sudo apt-get install nmap`; "
    "macOS: `brew install nmap`) or put it on PATH"
)
STDERR_BYTES = 64 * 1024  # what nmap said is kept up to this size
STOP_GRACE = 5.0  # seconds nmap gets to exit after SIGTERM before SIGKILL
_PR_SET_PDEATHSIG = 1


def nmap_binary(nmap_path: str | None) -> str:
    """The nmap binary python-nmap finds (on PATH and the usual places, or the
    user's), checked with `nmap -V`."""
    try:
        if nmap_path:
            scanner = nmap.PortScanner(nmap_search_path=(nmap_path,))
        else:
            scanner = nmap.PortScanner()
    except nmap.PortScannerError as exc:
        if "not found" in message_of(exc):
            raise ScanFailed(NMAP_MISSING) from None
        raise ScanFailed(f"nmap cannot run: {one_line(message_of(exc))}") from None
    path = getattr(scanner, "_nmap_path", "") or nmap_path or "nmap"
    return str(path)


def message_of(exc: Exception) -> str:
    # python-nmap's exceptions print the repr of their message.
    value = getattr(exc, "value", None)
    return value if isinstance(value, str) else str(exc)


def one_line(text: str) -> str:
    # Keep what nmap said before a Lua stack traceback; one line, bounded.
    text = text.split("stack traceback:", 1)[0]
    lines = [" ".join(line.split()) for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines)[:300] if lines else "no message"


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking for SIGTERM when the parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        # Runs in the child between fork and exec: nothing but the one call.
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    return hook


_PREEXEC = _die_with_parent()


class NmapProcesses:
    """The nmap children running now, so that one call can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def start(self, args: Sequence[str], stderr: int) -> subprocess.Popen[bytes] | None:
        """Start nmap, or None when the scan was cancelled first."""
        with self._lock:
            if self._cancelled.is_set():
                return None
            process = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                # One prctl() call between fork and exec (see _die_with_parent).
                preexec_fn=_PREEXEC,
            )
            self._running.add(process)
            return process

    def pids(self) -> list[int]:
        """The process ids of the children running now."""
        with self._lock:
            return sorted(process.pid for process in self._running)

    def finished(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(process)

    def cancel(self) -> None:
        """Refuse new processes and stop the running ones: SIGTERM, then SIGKILL."""
        with self._lock:
            self._cancelled.set()
            running = list(self._running)
        for process in running:
            with contextlib.suppress(OSError):
                process.terminate()
        for process in running:
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(STOP_GRACE)


@dataclass(frozen=True)
class NmapExit:
    """How one nmap process ended: where its XML is and what it said."""

    xml: Path
    stderr: str
    returncode: int | None  # None: it did not exit by itself
    timed_out: bool = False
    cancelled: bool = False


def run_nmap(
    binary: str,
    arguments: Sequence[str],
    workdir: Path,
    timeout: float | None,
    processes: NmapProcesses,
) -> NmapExit:
    """Run `binary -oX FILE ARGUMENTS...` in `workdir`, at most `timeout` seconds."""
    xml = workdir / "nmap.xml"
    with tempfile.TemporaryFile(dir=workdir) as err:
        process = processes.start([binary, "-oX", str(xml), *arguments], err.fileno())
        if process is None:
            return NmapExit(xml, "", None, cancelled=True)
        try:
            try:
                returncode: int | None = process.wait(timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                returncode, timed_out = None, True
                process.terminate()
                try:
                    process.wait(STOP_GRACE)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:
            processes.finished(process)
        err.seek(0)
        said = err.read(STDERR_BYTES).decode("utf-8", "replace")
    cancelled = processes.cancelled and not timed_out and returncode != 0
    return NmapExit(xml, said, returncode, timed_out, cancelled)


_SCRATCH = re.compile(r"trustscan-nmap-(?P<pid>\d+)-[A-Za-z0-9_]+")


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """A private directory for one nmap run's files, removed afterwards. The
    directories of runs that were killed before they could remove theirs
    (the PID is in the name) are removed here."""
    remove_stale(Path(tempfile.gettempdir()), _SCRATCH)
    return tempfile.TemporaryDirectory(prefix=f"trustscan-nmap-{os.getpid()}-")


def stderr_problem(said: str) -> str:
    """nmap's stderr without its warnings, one line; "" when it only warned."""
    kept = [
        line
        for line in said.splitlines()
        if line.strip() and not line.lower().startswith("warning:")
    ]
    return one_line("\n".join(kept)) if kept else ""


@contextmanager
def nmap_pool(workers: int) -> Iterator[tuple[ThreadPoolExecutor, NmapProcesses]]:
    """Threads that each wait on one nmap child. When the caller is
    interrupted (Ctrl-C, SIGTERM turned into an exception, any error), queued
    batches are dropped and running children stopped before the exception goes on."""
    processes = NmapProcesses()
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="nmap")
    try:
        yield pool, processes
    except BaseException:
        processes.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)  # running workers return once their nmap has stopped
