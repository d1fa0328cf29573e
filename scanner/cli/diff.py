"""`trustscan diff OLD.json NEW.json`: what changed between two saved results."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.cli.baseline import against
from scanner.cli.finish import finish
from scanner.cli.group import cli
from scanner.cli.options import Outputs, output_options


@cli.command()
@click.argument("old", metavar="OLD.json", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("new", metavar="NEW.json", type=click.Path(path_type=Path, dir_okay=False))
@output_options
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; only write the outputs.")
def diff(old: Path, new: Path, outputs: Outputs, quiet: bool) -> None:
    """Compare two saved results: which findings of NEW are new since OLD or
    changed, which of OLD are fixed, and which were not rescanned (their host
    not scanned in NEW). With an output option, NEW compared with OLD is
    written in that format, as `report NEW.json --baseline OLD.json` would."""
    from scanner.assessment.baseline import Baseline
    from scanner.outputs.comparison import comparison_table
    from scanner.outputs.files import refuse_overwrites
    from scanner.result_io import read

    refuse_overwrites(outputs.paths, [("the old result", old), ("the new result", new)])
    result = against(read(new), Baseline(str(old), read(old)))
    if not quiet:
        click.echo(comparison_table(result), nl=False)
    finish(result, outputs, quiet, table=False)
