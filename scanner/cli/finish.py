"""How a command hands its result back: recorded in the scan history (for
`scan` and `local`), the outputs written (or the findings table, when none
was asked for), the summary and coverage lines on stderr, the exit code
(`outputs.gate`); and what an interrupted scan kept."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.outputs.gate import verdict
from scanner.support import signals
from scanner.support.errors import TrustscanError
from scanner.support.exit_codes import ExitCode
from scanner.support.progress import QUIET, Progress

if TYPE_CHECKING:
    from scanner.cli.options import Outputs
    from scanner.history.recording import Session
    from scanner.model import ScanResult

# The writers, the table and the summary are imported when a command
# finishes: every command's module imports this one, and `--help` runs none.


def finish(
    result: ScanResult,
    outputs: Outputs,
    quiet: bool,
    checkpoint: Path | None = None,
    progress: Progress = QUIET,
    table: bool = True,
    history: Session | None = None,
    command: str = "",
) -> None:
    """`table`: print the findings table when no output was asked for (a
    command with a table of its own, as `diff` has, says False). `history`:
    record the run there first, so that every output shows its history."""
    from scanner.outputs.coverage import coverage_lines, coverage_summary, execution_lines
    from scanner.outputs.files import write_outputs
    from scanner.outputs.progress import TerminalProgress
    from scanner.outputs.summary import summary_line
    from scanner.outputs.table import findings_table

    decided = verdict(result, outputs.gate)
    if history is not None and history.enabled:
        from scanner.assessment.scope import scope_of
        from scanner.history.recording import record

        scope = scope_of(result, outputs.sarif_category)
        lines = tuple(line for line in coverage_lines(result) if line)
        result = record(history, result, scope, command, int(decided.code), lines, progress)
    missing = _missing(history)
    if missing:  # recording changed no finding: only a failed record moves the verdict
        decided = verdict(result, outputs.gate, missing)
    try:
        written = write_outputs(
            result, outputs.plan, outputs.gate, progress, outputs.sarif_category
        )
    except TrustscanError as exc:
        if history is not None and history.store is not None and history.run:
            history.store.set_exit_code(history.run, exc.exit_code)
        raise
    if isinstance(progress, TerminalProgress):
        progress.close()  # the summary goes on a line of its own
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)  # the result is safely on disk now
    if table and outputs.plan.table:
        click.echo(findings_table(result), nl=False)
    # Standard output carries only what was asked for (a report, the table);
    # what the run says about itself goes to stderr, so `--json - | jq` works.
    if not quiet:
        click.echo(summary_line(result, written, _recorded(history)), err=True)
        for line in [*execution_lines(result), *coverage_summary(result)]:
            click.echo(line, err=True)
    for note in history.notes if history is not None else ():
        click.echo(f"trustscan: note: {note}", err=True)
    # Even with --quiet an exit 4 says why: unlike a tripped gate, it asks the
    # user to decide (scan again, or --allow-incomplete).
    if not quiet or decided.code is ExitCode.INCOMPLETE:
        for line in [*coverage_lines(result), *missing, decided.line()]:
            if line:
                click.echo(line, err=True)
    if decided.code is not ExitCode.PASSED:
        click.get_current_context().exit(decided.code)


def _missing(history: Session | None) -> tuple[str, ...]:
    if history is None or not history.problem:
        return ()
    return (
        f"trustscan: not recorded: {history.problem}; the outputs are written, and the "
        "next run of this scope compares with the last one recorded",
    )


def _recorded(history: Session | None) -> str:
    if history is None or history.store is None or not history.run:
        return ""
    return f"run {history.run} in {history.store.shown}"


def interrupted(exc: KeyboardInterrupt, checkpoint: Path | None) -> None:
    """Say what an interrupted scan kept, and exit as the signal asks (130, 143)."""
    from scanner.discovery.checkpoint import saved_batches

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
