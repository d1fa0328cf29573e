"""trustscan's exit codes: the one table the CLI, the README and `--help` share.

It sits in `support` because the codes are set at every layer: `InputError`
and `ScanFailed` (here in `support.errors`) carry theirs, `outputs.gate`
decides 0, 1 and 4 from a finished result, and `support.signals` computes
130 and 143 (128 plus the signal number, the shell's convention).

When several apply, the first in this order wins:

1. 130 or 143: a signal ends the run wherever it is; nothing after it runs.
2. 2: bad input stops the run before the scan; an output that cannot be
   written stops it after (the result is not where it was asked for).
3. 3: the scan could not run at all, so there is no result to judge.
4. 1 before 4: findings that trip the gate are real whatever else was
   missed, and a pipeline that retries or waives an incomplete scan (4,
   `--allow-incomplete`) must never wave them through; the summary still
   names what was not covered.
"""

from __future__ import annotations

import textwrap
from enum import IntEnum


class ExitCode(IntEnum):
    PASSED = 0
    GATE = 1
    USAGE = 2
    SCAN_FAILED = 3
    INCOMPLETE = 4
    INTERRUPTED = 130
    TERMINATED = 143


MEANING = {
    ExitCode.PASSED: "passed: the scan is complete, and no finding trips the gate",
    ExitCode.GATE: "the gate tripped: a finding at or above --fail-on, or a new or changed one "
    "at or above --fail-on-new (accepted risks never count)",
    ExitCode.USAGE: "usage or input error: an option, a target, a file, an output that "
    "cannot be written",
    ExitCode.SCAN_FAILED: "the scan failed: nmap is missing, or failed for every batch",
    ExitCode.INCOMPLETE: "the scan is incomplete (unless --allow-incomplete): an nmap batch "
    "timed out or failed, a probe failed, an imported nmap XML was cut or had entries "
    "dropped, the local audit could not read something",
    ExitCode.INTERRUPTED: "interrupted by Ctrl-C (SIGINT)",
    ExitCode.TERMINATED: "stopped by SIGTERM",
}

PRECEDENCE = (
    "When several apply: 130/143, then 2, 3, 1, 4. A tripped gate (1) beats an "
    "incomplete scan (4): its findings are real whatever else was missed."
)


def exit_code_help(width: int = 76) -> str:
    """The table for `trustscan --help` (click's `\\b` keeps its lines as they are)."""
    lines = ["\b", "Exit codes:"]
    for code in ExitCode:
        lines += textwrap.wrap(
            MEANING[code],
            width,
            initial_indent=f"  {int(code):>3}  ",
            subsequent_indent=" " * 7,
        )
    return "\n".join(lines) + "\n\n" + PRECEDENCE
