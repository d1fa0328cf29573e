"""`trustscan report`: any format again from a saved result, or a part of it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.cli.accept import Accepting, accept_options, with_acceptance
from scanner.cli.baseline import against, baseline_option, file_baseline
from scanner.cli.finish import finish
from scanner.cli.group import cli
from scanner.cli.options import (
    Outputs,
    cost_options,
    inventory_of,
    inventory_option,
    output_options,
)
from scanner.model import Severity
from scanner.support.progress import QUIET

if TYPE_CHECKING:
    from scanner.assessment.baseline import Baseline
    from scanner.assessment.cost import CostBasis


@cli.command()
@click.argument("result_file", type=click.Path(path_type=Path, dir_okay=False))
@inventory_option
@baseline_option
@cost_options
@output_options
@accept_options
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="ADDR|CIDR|NAME",
    help="Report only on these hosts (repeatable): a part of a large scan, assessed again.",
)
@click.option(
    "--min-severity",
    type=click.Choice([s.value for s in Severity]),
    help="Report only findings of this severity or worse.",
)
@click.option("-q", "--quiet", is_flag=True)
def report(
    result_file: Path,
    inventory_file: Path | None,
    cost: CostBasis | None,
    outputs: Outputs,
    accepting: Accepting,
    hosts: tuple[str, ...],
    min_severity: str | None,
    baseline: Baseline | str | None,
    quiet: bool,
) -> None:
    """Render reports from a saved ScanResult JSON file; with --inventory or a
    --cost-* option, the risk and customer-trust assessment is computed again,
    and so it is for a part of the scan (--host, --min-severity)."""
    from scanner.assessment.risk import assessed
    from scanner.assessment.selection import narrowed, selection
    from scanner.assessment.trust import saved_cost
    from scanner.outputs.files import refuse_overwrites
    from scanner.outputs.progress import TerminalProgress, wants_progress
    from scanner.result_io import read

    refuse_overwrites(
        outputs.plan, [("the scan result", result_file), ("the inventory", inventory_file)]
    )
    chosen = selection(hosts, min_severity)
    inventory = inventory_of(inventory_file)
    result = read(result_file)
    result = against(result, file_baseline(baseline, "report"), chosen)
    saved = result.assessment
    again = cost is not None or not chosen.empty
    if again and inventory is None and saved is not None and saved.inventory_source:
        why = "with the --cost-* options" if cost is not None else "to assess the part you chose"
        raise click.UsageError(
            f"this result was assessed with the inventory {saved.inventory_source}: "
            f"give --inventory again {why}"
        )
    if not chosen.empty:
        result = narrowed(result, chosen)
    progress = TerminalProgress() if wants_progress(quiet) else None
    shown = progress if progress is not None else QUIET
    try:
        if inventory is not None or again or saved is None:
            result = assessed(result, inventory, cost or saved_cost(saved), shown)
        result = with_acceptance(result, accepting, quiet)
        finish(result, outputs, quiet, progress=shown)
    finally:
        if progress is not None:
            progress.close()
