"""Save each finished nmap batch as it completes, so an interrupted scan resumes.

The file is JSON lines beside the result (`result.json.partial`): a header
naming the scan it belongs to, then one line per successful batch. Failed
batches are not saved, so a resumed scan tries them again. A half-written
last line (the scan was killed mid-write) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from scanner.discovery.nmap_runs import BatchOutcome, DiscoveryOptions
from scanner.model import Target
from scanner.support.codec import DecodeError, from_data, to_data
from scanner.support.errors import InputError

FORMAT = 1


def partial_path(result_path: Path) -> Path:
    return result_path.with_name(result_path.name + ".partial")


def scan_key(targets: Sequence[Target], options: DiscoveryOptions) -> str:
    """What makes two runs the same scan: targets, ports and nmap options."""
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


def load(path: Path, key: str) -> list[BatchOutcome]:
    """Batches a previous run of the same scan finished; [] when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the saved progress: {exc}") from None
    lines = text.splitlines()
    if not lines:
        return []
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
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
        except (json.JSONDecodeError, DecodeError):
            if number == len(lines):
                break  # cut off when the scan was interrupted: redo that batch
            raise InputError(f"{path}:{number}: damaged progress line; delete the file") from None
    return [o for o in outcomes if o.report is not None and o.error is None]


class CheckpointWriter:
    """A discovery observer that appends each successful batch, durably."""

    def __init__(self, path: Path, key: str, resumed: bool) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: IO[str] = path.open("a" if resumed else "w", encoding="utf-8")
        if not resumed or path.stat().st_size == 0:
            self._write({"format": FORMAT, "key": key})

    def _write(self, data: object) -> None:
        self._handle.write(json.dumps(data, separators=(",", ":")) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def batch_done(self, outcome: BatchOutcome | None, done: int, total: int) -> None:
        if outcome is None or outcome.report is None or outcome.error is not None:
            return
        with self._lock:
            self._write(to_data(outcome))

    def close(self) -> None:
        self._handle.close()
