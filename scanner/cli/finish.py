"""How a command hands its result back: the outputs written, the summary
line, the exit code; and what an interrupted scan kept."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.cli.options import (
    Outputs,
)
from scanner.discovery.checkpoint import saved_batches
from scanner.model import ScanResult
from scanner.outputs.files import write_outputs
from scanner.outputs.gate import exceeds
from scanner.outputs.progress import TerminalProgress
from scanner.outputs.summary import summary_line
from scanner.support import signals
from scanner.support.progress import QUIET, Progress

EXIT_FINDINGS = 1


def finish(
    result: ScanResult,
    outputs: Outputs,
    quiet: bool,
    checkpoint: Path | None = None,
    progress: Progress = QUIET,
) -> None:
    written = write_outputs(result, outputs.paths, outputs.fail_on, progress)
    if isinstance(progress, TerminalProgress):
        progress.close()  # the summary goes on a line of its own
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)  # the result is safely on disk now
    if not quiet:
        click.echo(summary_line(result, written))
    if exceeds(result, outputs.fail_on):
        click.get_current_context().exit(EXIT_FINDINGS)


def interrupted(exc: KeyboardInterrupt, checkpoint: Path | None) -> None:
    """Say what an interrupted scan kept, and exit as the signal asks (130, 143)."""
    if checkpoint is None:
        kept = "nothing was saved: progress is kept only beside a result file (--json)"
    elif saved_batches(checkpoint):
        kept = (
            f"{saved_batches(checkpoint)} finished nmap batch(es) saved in {checkpoint}: "
            "run the same command with --resume to continue"
        )
    else:
        kept = f"no nmap batch had finished, so {checkpoint} holds nothing to resume"
    click.echo(f"trustscan: interrupted by {signals.signal_of(exc).name}; {kept}", err=True)
    click.get_current_context().exit(signals.exit_code(exc))
