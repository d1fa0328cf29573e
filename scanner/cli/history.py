"""`trustscan history`: the runs the scan history keeps (`scanner.history`).

Every command here takes `--history URL` (and `TRUSTSCAN_HISTORY`) as `scan`
does. None of them records a run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

from scanner.cli.finish import finish
from scanner.cli.group import cli
from scanner.cli.options import Outputs, history_url_option, output_file_option, output_options
from scanner.support.errors import InputError

if TYPE_CHECKING:
    from scanner.history.store import HistoryStore

_AGE = re.compile(r"([0-9]{1,5})([dw])")


@contextmanager
def _opened(url: str | None) -> Iterator[HistoryStore]:
    from scanner.history.location import location
    from scanner.history.store import HistoryStore

    store = HistoryStore(location(url))
    try:
        yield store
    finally:
        store.close()


scope_option = click.option(
    "--scope",
    metavar="NAME",
    help="Only this scope (a target set: `history list` shows each run's).",
)

fix_within_option = click.option(
    "--fix-within",
    "fix_within",
    multiple=True,
    metavar="SEVERITY=DAYS",
    help="Fix deadlines over the defaults critical=7, high=30, medium=90 (repeatable, or "
    "comma-separated; 0 removes one).",
)


@cli.group()
def history() -> None:
    """The scan history: every `scan` and `local` run, kept in SQLite (default:
    $XDG_DATA_HOME/trustscan/history.sqlite) or a shared PostgreSQL (--history URL)."""


@history.command("list")
@scope_option
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@history_url_option
def list_runs(scope: str | None, limit: int, history_url: str | None) -> None:
    """The runs, newest first: number, time, exit code, findings by severity, scope."""
    from scanner.outputs.history_text import runs_table

    with _opened(history_url) as store:
        click.echo(runs_table(store.runs(scope, limit), store.shown), nl=False)


@history.command("show")
@click.argument("run")
@scope_option
@history_url_option
def show(run: str, scope: str | None, history_url: str | None) -> None:
    """One run (a number, or `last`): what it scanned, and each finding with
    its state, first seen and age."""
    from scanner.outputs.history_text import run_text

    with _opened(history_url) as store:
        row = store.run(run, scope)
        first = {s.fingerprint: s.first_seen for s in store.sightings(row.scope)}
        click.echo(run_text(row, store.findings_of(row.id), first), nl=False)


@history.command("diff")
@click.argument("old")
@click.argument("new")
@history_url_option
@output_options
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; only write the outputs.")
def diff(old: str, new: str, history_url: str | None, outputs: Outputs, quiet: bool) -> None:
    """Compare two runs (numbers, or `last`), as `trustscan diff` compares two
    saved results: new, changed, fixed and not rescanned."""
    from scanner.assessment.baseline import Baseline, compared
    from scanner.outputs.comparison import comparison_table

    with _opened(history_url) as store:
        before, after = store.run(old), store.run(new)
        result = compared(
            store.result_of(after.id),
            Baseline(f"run {before.id}", store.result_of(before.id)),
        )
    if not quiet:
        click.echo(comparison_table(result), nl=False)
    finish(result, outputs, quiet, table=False)


@history.command("report")
@click.argument("run")
@scope_option
@history_url_option
@output_options
@click.option("-q", "--quiet", is_flag=True)
def report(
    run: str, scope: str | None, history_url: str | None, outputs: Outputs, quiet: bool
) -> None:
    """Render a recorded run in any format, as it was at the time (its
    findings, assessment, baseline and accepted risks as recorded)."""
    with _opened(history_url) as store:
        result = store.result_of(store.run(run, scope).id)
    finish(result, outputs, quiet)


@history.command("trends")
@scope_option
@fix_within_option
@click.option(
    "--runs",
    type=click.IntRange(2, 10_000),
    default=100,
    show_default=True,
    help="How many of the last runs the chart shows.",
)
@output_file_option(
    "-o", "--output", help="Write the trends page (self-contained HTML) here; - is standard output."
)
@history_url_option
def trends(
    scope: str | None,
    fix_within: tuple[str, ...],
    runs: int,
    output: str | None,
    history_url: str | None,
) -> None:
    """Open findings by severity over the runs of a scope, time to fix, the
    oldest open findings and what is past its fix deadline, and what the last
    run changed; as text, or as an HTML page with -o."""
    from scanner.history.trends import parse_deadlines
    from scanner.history.trends import trends as compute
    from scanner.outputs.history_text import trends_text

    deadlines = parse_deadlines(fix_within)
    with _opened(history_url) as store:
        chosen = scope or _only_scope(store)
        found = compute(store, chosen, deadlines, runs)
    if output is None:
        click.echo(trends_text(found), nl=False)
        return
    from scanner.formats.trends_html import render_trends
    from scanner.outputs.files import write_page

    page = render_trends(found, datetime.now(UTC).isoformat(timespec="seconds"))
    write_page(output, page)
    if output != "-":
        click.echo(f"wrote {output}: scope {chosen}, {len(found.runs)} run(s)", err=True)


def _only_scope(store: HistoryStore) -> str:
    scopes = store.scopes()
    if not scopes:
        raise InputError(f"history {store.shown}: no run is recorded yet")
    if len(scopes) > 1:
        listed = ", ".join(f"{name} ({count} runs)" for name, count, _last in scopes[:10])
        click.echo(
            f"trustscan: note: {len(scopes)} scopes in {store.shown}; showing {scopes[0][0]}, "
            f"the most recent (--scope NAME for another: {listed})",
            err=True,
        )
    return scopes[0][0]


@history.command("prune")
@click.option(
    "--older-than",
    required=True,
    metavar="AGE|DATE",
    help="Delete runs that finished before this: 400d, 52w, or a date (2025-01-31).",
)
@scope_option
@history_url_option
def prune(older_than: str, scope: str | None, history_url: str | None) -> None:
    """Delete old runs. Each scope's latest run stays (the next `--baseline
    last`), and every finding keeps its first-seen date."""
    before = _cutoff(older_than)
    with _opened(history_url) as store:
        deleted, kept = store.prune(before, scope)
        click.echo(
            f"deleted {deleted} run(s) that finished before {before}; {kept} run(s) kept in "
            f"{store.shown} (first-seen dates kept)",
            err=True,
        )


def _cutoff(value: str) -> str:
    text = value.strip().lower()
    match = _AGE.fullmatch(text)
    if match is not None:
        days = int(match[1]) * (7 if match[2] == "w" else 1)
        return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter(
            f"{value[:40]!r}: give an age (400d, 52w) or a date (2025-01-31)",
            param_hint="--older-than",
        ) from None
    return day.isoformat(timespec="seconds")
