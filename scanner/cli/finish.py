"""How a command hands its result back: the outputs written (or the findings
table, when none was asked for), the summary and coverage lines on stderr,
the exit code (`outputs.gate`); and what an interrupted scan kept."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.cli.options import (
    Outputs,
)
from scanner.discovery.checkpoint import saved_batches
from scanner.model import ScanResult
from scanner.outputs.coverage import coverage_lines
from scanner.outputs.files import write_outputs
from scanner.outputs.gate import verdict
from scanner.outputs.progress import TerminalProgress
from scanner.outputs.summary import summary_line
from scanner.outputs.table import findings_table
from scanner.support import signals
from scanner.support.exit_codes import ExitCode
from scanner.support.progress import QUIET, Progress


def finish(
    result: ScanResult,
    outputs: Outputs,
    quiet: bool,
    checkpoint: Path | None = None,
    progress: Progress = QUIET,
    table: bool = True,
) -> None:
    """`table`: print the findings table when no output was asked for (a
    command with a table of its own, as `diff` has, says False)."""
    written = write_outputs(result, outputs.plan, outputs.gate, progress, outputs.sarif_category)
    if isinstance(progress, TerminalProgress):
        progress.close()  # the summary goes on a line of its own
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)  # the result is safely on disk now
    if table and outputs.plan.table:
        click.echo(findings_table(result), nl=False)
    # Standard output carries only what was asked for (a report, the table);
    # what the run says about itself goes to stderr, so `--json - | jq` works.
    decided = verdict(result, outputs.gate)
    if not quiet:
        click.echo(summary_line(result, written), err=True)
    # Even with --quiet an exit 4 says why: unlike a tripped gate, it asks the
    # user to decide (scan again, or --allow-incomplete).
    if not quiet or decided.code is ExitCode.INCOMPLETE:
        for line in [*coverage_lines(result), decided.line()]:
            if line:
                click.echo(line, err=True)
    if decided.code is not ExitCode.PASSED:
        click.get_current_context().exit(decided.code)


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
