"""`--baseline PREVIOUS.json`: compare the result with an earlier one (`scan`,
`report`). What the comparison means is `scanner.assessment.baseline`'s."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scanner.support.errors import InputError

if TYPE_CHECKING:
    from scanner.assessment.baseline import Baseline
    from scanner.assessment.selection import Selection
    from scanner.model import ScanResult

# The comparison and the result reader are imported when a command uses them:
# declaring the option (at `trustscan --help`) needs neither.

# `--baseline last`: the previous run of the same scope in the scan history,
# known only once the scan has its scope (`scanner.history.recording`).
LAST = "last"


def resolve_baseline(value: str | None) -> Baseline | str | None:
    """The baseline a `--baseline` value names; None without one; `LAST` for
    the previous run in the history.

    The one place the option's value is understood. A file is read before
    any scan starts, so a bad file stops the command at once, and so the new
    result may be written over it (`--baseline last.json --json last.json`
    keeps comparing with the last run).
    """
    if value is None:
        return None
    if value == LAST:
        return LAST
    from scanner.assessment.baseline import Baseline
    from scanner.result_io import read

    try:
        return Baseline(value, read(Path(value)))
    except InputError as exc:
        raise InputError(f"--baseline: {exc}") from None


def baseline_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--baseline PREVIOUS.json|last`, handed to the command as `baseline`:
    the `Baseline` read and checked, `LAST`, or None when the option was not given."""

    @functools.wraps(command)
    def with_baseline(*args: Any, baseline_value: str | None, **kwargs: Any) -> Any:
        return command(*args, baseline=resolve_baseline(baseline_value), **kwargs)

    option = click.option(
        "--baseline",
        "baseline_value",
        metavar="PREVIOUS.json|last",
        help="Compare with an earlier result (a file, or `last`: the previous run of this "
        "scope in the scan history): each finding is new, changed or unchanged, and what is "
        "gone is fixed (its host scanned again) or not rescanned. Every format says so.",
    )
    wrapped: Callable[..., Any] = option(with_baseline)
    return wrapped


def against(
    result: ScanResult, baseline: Baseline | None, chosen: Selection | None = None
) -> ScanResult:
    """The result compared with the baseline (as it is without one). For a
    report of a part of a scan, give the whole result and the part (`chosen`),
    before the result is cut: the comparison is cut to the part, and what the
    part leaves out is neither fixed nor not rescanned in it."""
    from scanner.assessment.baseline import compared, within

    done = compared(result, baseline) if baseline is not None else result
    # A comparison saved with the result is cut to the part as well.
    return within(done, chosen) if chosen is not None else done


def file_baseline(baseline: Baseline | str | None, command: str) -> Baseline | None:
    """For a command without a history (`report`): a file, never `last`."""
    from scanner.assessment.baseline import Baseline

    if baseline == LAST:
        raise click.UsageError(
            f"--baseline last is the previous run in the scan history, for `scan` and "
            f"`local`; `{command}` compares with a saved result (or use `trustscan history diff`)"
        )
    return baseline if isinstance(baseline, Baseline) else None


__all__ = ["LAST", "against", "baseline_option", "file_baseline", "resolve_baseline"]
