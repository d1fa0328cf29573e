"""Save each finished nmap batch as it completes, so an interrupted scan resumes.

The file is JSON lines beside the result (`result.json.partial`): a header
naming the scan it belongs to, then one line per successful batch. Failed
batches are not saved, so a resumed scan tries them again. A half-written
last line (the scan was killed mid-write) is cut off when the scan resumes,
so the next batch starts on a line of its own.

Saving progress is a convenience, never a reason to lose a scan: when the
file cannot be written (a full disk), the writer cuts it back to its last
whole line, stops saving, logs a warning once, and the scan goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from scanner.discovery.nmap_runs import BatchOutcome, DiscoveryOptions, with_ports
from scanner.model import Target
from scanner.support.codec import DecodeError, from_data, to_data
from scanner.support.errors import InputError

FORMAT = 1
log = logging.getLogger("trustscan")


def partial_path(result_path: Path) -> Path:
    return result_path.with_name(result_path.name + ".partial")


def scan_key(targets: Sequence[Target], options: DiscoveryOptions) -> str:
    """What makes two runs the same scan: targets, ports and nmap options.

    The ports are the list nmap is given, not the options that chose it: a
    resume after nmap's most common ports or `rules/ports.yaml` changed is
    another scan. Options from `nmap_runs.with_ports` are used as they are."""
    options, _ = with_ports(options)
    material = json.dumps(
        {
            "targets": [t.value for t in targets],
            "ports": options.ports,
            "version_intensity": options.version_intensity,
            "assume_up": options.assume_up,
            "extra": list(options.extra_args),
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _whole_lines(path: Path, data: bytes) -> list[str]:
    """The file's complete lines; a torn last one (no newline) is cut off the
    file itself, so that appending resumes on a fresh line."""
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        try:
            os.truncate(path, keep)
        except OSError as exc:
            raise InputError(f"{path}: cannot repair the saved progress: {exc.strerror}") from None
    try:
        return data[:keep].decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a trustscan progress file; delete it") from None


def load(path: Path, key: str) -> list[BatchOutcome]:
    """Batches a previous run of the same scan finished; [] when there is none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"{path}: cannot read the saved progress: {exc.strerror}") from None
    lines = _whole_lines(path, data)
    if not lines:
        return []
    try:
        header = json.loads(lines[0])
    except (json.JSONDecodeError, RecursionError):
        raise InputError(f"{path}:1: not a trustscan progress file; delete it") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InputError(f"{path}:1: not a trustscan progress file; delete it")
    if header.get("key") != key:
        raise InputError(
            f"{path}: the saved progress belongs to a different scan (other targets, ports "
            "or nmap options); run the same command again, or delete the file to start afresh"
        )
    outcomes: list[BatchOutcome] = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            outcomes.append(from_data(BatchOutcome, json.loads(line)))
        except (json.JSONDecodeError, DecodeError, RecursionError, ValueError):
            raise InputError(f"{path}:{number}: damaged progress line; delete the file") from None
    return [o for o in outcomes if o.report is not None and o.error is None]


def saved_batches(path: Path) -> int:
    """How many finished batches the file holds (0 when there is none)."""
    try:
        with path.open("rb") as handle:
            return max(0, sum(1 for line in handle if line.endswith(b"\n")) - 1)
    except OSError:
        return 0


class CheckpointWriter:
    """A discovery observer that appends each successful batch, durably."""

    def __init__(self, path: Path, key: str, resumed: bool) -> None:
        self.path = path
        self.problem = ""  # why progress stopped being saved; "" while it is
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._good = 0  # bytes of whole lines written so far
        try:
            self._handle = path.open("a" if resumed else "w", encoding="utf-8")
            self._good = self._handle.tell()
            if self._good == 0:
                self._write({"format": FORMAT, "key": key})
        except OSError as exc:
            self._give_up(exc)

    def _write(self, data: object) -> None:
        if self._handle is None:
            return
        line = json.dumps(data, separators=(",", ":")) + "\n"
        try:
            self._handle.write(line)
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            self._give_up(exc)
        else:
            self._good += len(line.encode("utf-8"))

    def _give_up(self, exc: OSError) -> None:
        """Cut the file back to its last whole line and stop saving."""
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()  # the flush may fail again: the bytes are cut below
        with contextlib.suppress(OSError):
            if self._good:
                os.truncate(self.path, self._good)
            else:
                self.path.unlink()
        self.problem = (
            f"cannot save progress to {self.path}: {exc.strerror or exc}; "
            "the scan goes on, but cannot be resumed if it is interrupted"
        )
        log.warning(self.problem)

    def batch_done(self, outcome: BatchOutcome | None, done: int, total: int) -> None:
        if outcome is None or outcome.report is None or outcome.error is not None:
            return
        with self._lock:
            self._write(to_data(outcome))

    def close(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
