"""`--accept FILE` and `--today`: the accepted risks of `scan`, `local` and
`report` (the file's format and matching: `scanner.assessment.acceptance`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from scanner.assessment.acceptance import (
    DEFAULT_ACCEPT_FILE,
    AcceptedRisks,
    accepted,
    load_accepted,
    today_or,
)
from scanner.cli.options import Outputs
from scanner.model import ScanResult

_log = logging.getLogger("trustscan")


@dataclass(frozen=True)
class Accepting:
    """The accepted risks a command applies to its result, and the day expiry
    is judged on; `risks` is None when there is no file."""

    risks: AcceptedRisks | None
    today: date
    picked_up: bool = False  # found in the current directory, not named


def accept_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--accept` and `--today`, handed to the command as `accepting`: the file
    read and checked before any work, so a bad entry never costs a scan.

    Goes below `output_options` (it takes `outputs`, to refuse writing over
    the file)."""

    @functools.wraps(command)
    def with_accept(
        *args: Any,
        accept_file: Path | None,
        today: datetime | None,
        outputs: Outputs,
        **kwargs: Any,
    ) -> Any:
        from scanner.outputs.files import refuse_overwrites

        picked_up = False
        # As Trivy reads .trivyignore: the file beside the code needs no option.
        if accept_file is None and Path(DEFAULT_ACCEPT_FILE).exists():
            accept_file, picked_up = Path(DEFAULT_ACCEPT_FILE), True
        refuse_overwrites(outputs.paths, [("the accepted-risks file", accept_file)])
        risks = load_accepted(accept_file) if accept_file is not None else None
        accepting = Accepting(risks, today_or(today), picked_up)
        return command(*args, accepting=accepting, outputs=outputs, **kwargs)

    wrapped: Callable[..., Any] = with_accept
    for option in reversed(
        (
            click.option(
                "--accept",
                "accept_file",
                type=click.Path(path_type=Path, dir_okay=False),
                metavar="FILE",
                help="A YAML file of accepted risks (rule, host, port or fingerprint, with "
                "reason, owner and expires): their findings stay in every report, marked, "
                "and trip no gate until they expire; see reports/accept.schema.json. "
                f"Default: {DEFAULT_ACCEPT_FILE} in the current directory, when there is one.",
            ),
            click.option(
                "--today",
                type=click.DateTime(formats=["%Y-%m-%d"]),
                metavar="YYYY-MM-DD",
                help="Judge the accepted risks' expiry as on this day, not today: to replay "
                "a CI run, or to see what expires soon.",
            ),
        )
    ):
        wrapped = option(wrapped)
    return wrapped


def with_acceptance(result: ScanResult, accepting: Accepting, quiet: bool) -> ScanResult:
    """The result with the accepted risks applied (after the assessment, which
    sets the fingerprints they match); unchanged without a file, so a saved
    result keeps the marks it was scanned with. Says what the file did."""
    if accepting.risks is None:
        return result
    result = accepted(result, accepting.risks, accepting.today)
    check = result.acceptance
    if check is None:  # pragma: no cover - `accepted` always records its check
        return result
    # An expired acceptance makes its finding count again: say which, also with --quiet.
    for entry in check.expired:
        _log.warning("accepted risk expired: %s", entry)
    if not quiet:
        found = " (found in the current directory)" if accepting.picked_up else ""
        parts = [f"{check.accepted} finding(s) accepted"]
        parts += [f"{_entries(len(check.expired))} expired"] if check.expired else []
        parts += [f"{_entries(len(check.stale))} matched nothing"] if check.stale else []
        click.echo(
            f"accepted risks from {check.source}{found}, as of {check.checked_on}: "
            + ", ".join(parts),
            err=True,  # beside the summary: standard output carries only the outputs
        )
    return result


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"
