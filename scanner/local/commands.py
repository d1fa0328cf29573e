"""Run a local command (nft, iptables-save, ufw, ss) safely: no shell, a timeout,
bounded output, C locale, and never an exception."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

MAX_OUTPUT_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024
# Non-root logins on Debian have no /usr/sbin on PATH, where both front-ends live.
_SYSTEM_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# ufw translates its messages; the parsers below read the untranslated ones.
_C_LOCALE = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": ""}


@dataclass(frozen=True)
class CommandOutput:
    returncode: int
    stdout: str
    stderr: str
    missing: bool = False  # the binary was not found

    @property
    def text(self) -> str:
        """Both streams: firewall-cmd prints some answers ("not running") on stderr."""
        return f"{self.stdout}\n{self.stderr}"


Runner = Callable[[Sequence[str]], CommandOutput]


def run_command(
    argv: Sequence[str], timeout: float = 10.0, max_bytes: int = MAX_OUTPUT_BYTES
) -> CommandOutput:
    """Run argv without a shell; never raises. Output is capped at max_bytes per stream."""
    if not argv:
        return CommandOutput(-1, "", "empty command")
    executable = _find_executable(argv[0])
    if executable is None:
        return CommandOutput(127, "", f"{argv[0]}: not found", missing=True)
    try:
        process = subprocess.Popen(
            [executable, *argv[1:]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **_C_LOCALE},
        )
    except FileNotFoundError:
        return CommandOutput(127, "", f"{argv[0]}: not found", missing=True)
    except OSError as exc:
        return CommandOutput(-1, "", f"{argv[0]}: {exc.strerror or exc}")
    return _collect(process, timeout, max_bytes)


def _find_executable(name: str) -> str | None:
    if os.sep in name:
        return name
    search = os.pathsep.join([os.environ.get("PATH", ""), *_SYSTEM_DIRS])
    return shutil.which(name, path=search)


def _collect(process: subprocess.Popen[bytes], timeout: float, max_bytes: int) -> CommandOutput:
    if process.stdout is None or process.stderr is None:  # unreachable with PIPE; for mypy
        process.kill()
        return CommandOutput(-1, "", "no output pipes")
    out, err = bytearray(), bytearray()
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, max_bytes, out), daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, max_bytes, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return CommandOutput(-1, _decode(out), f"timed out after {timeout:g}s")
    for reader in readers:
        # A daemon the command left behind may hold the pipes open; do not wait for it.
        reader.join(timeout=1.0)
    return CommandOutput(returncode, _decode(out), _decode(err))


def _drain(stream: IO[bytes], limit: int, sink: bytearray) -> None:
    # Keep reading past the cap so the child never blocks on a full pipe.
    try:
        while chunk := stream.read(_CHUNK):
            room = limit - len(sink)
            if room > 0:
                sink += chunk[:room]
    except (OSError, ValueError):
        return


def _decode(data: bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")
