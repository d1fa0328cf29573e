"""`trustscan rules`: list, lint and import rules."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from scanner.cli.group import cli
from scanner.cli.options import (
    with_builtin_rules,
)


@cli.group()
def rules() -> None:
    """List and check rules."""


@rules.command("list")
@click.option(
    "--rules", "rule_dirs", multiple=True, type=click.Path(path_type=Path, file_okay=False)
)
def rules_list(rule_dirs: tuple[Path, ...]) -> None:
    """List the rules a scan would use."""
    from scanner.rule_engine.loader import load_rules

    loaded = load_rules(with_builtin_rules(rule_dirs))
    width = max((len(r.id) for r in loaded), default=10)
    for rule in sorted(loaded, key=lambda r: (-r.severity.rank, r.id)):
        click.echo(f"{rule.id:<{width}}  {rule.severity.value:<8}  {rule.title}")
    click.echo(f"{len(loaded)} rule(s)", err=True)


@rules.command("lint")
@click.argument(
    "directories", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False)
)
def rules_lint(directories: tuple[Path, ...]) -> None:
    """Validate rule files; print every problem as FILE:LINE: message."""
    # Always read and validated for real: `lint` never takes rules from the cache.
    from scanner.rule_engine.loader import lint

    loaded, problems = lint(list(directories))
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(directories)} director(ies)", err=True)
        click.get_current_context().exit(2)
    click.echo(f"{len(loaded)} rule(s) OK")


@rules.command("import")
@click.argument("feeds", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory to write the rule files to (one per vulnerability).",
)
@click.option("--product", help="Product id for every record (when the feed's names are unknown).")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date of lifecycle data (endoflife.date pages): branches ended by then are end of life.",
)
def rules_import(
    feeds: tuple[Path, ...], out_dir: Path, product: str | None, as_of: datetime | None
) -> None:
    """Turn feeds into rules and rule data: OSV and Apache httpd CVE JSON (one
    rule file per vulnerability), endoflife.date product pages (one lifecycle
    file per product) and distribution pages (release support), CISA's KEV
    catalogue, and distribution advisories (Debian Security Tracker JSON,
    DSA/DLA records, Ubuntu OSV notices, Debian changelogs)."""
    from scanner.feeds.importer import import_feeds

    report = import_feeds(list(feeds), out_dir, product, as_of.date() if as_of else None)
    for refused in report.refused:
        click.echo(f"trustscan: refused: {refused}", err=True)
    data = f" and {report.data_written} data file(s)" if report.data_written else ""
    click.echo(
        f"wrote {report.rules_written} rule(s) in {report.files_written} file(s){data} to "
        f"{out_dir}; skipped {len(report.skipped)} input(s) with nothing to import"
        + (f"; refused {len(report.refused)} file(s), listed above" if report.refused else "")
    )
