"""`--baseline PREVIOUS.json`: compare the result with an earlier one (`scan`,
`report`). What the comparison means is `scanner.assessment.baseline`'s."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from scanner.assessment.baseline import Baseline, compared, within
from scanner.assessment.selection import Selection
from scanner.model import ScanResult
from scanner.result_io import read
from scanner.support.errors import InputError


def resolve_baseline(value: str | None) -> Baseline | None:
    """The baseline a `--baseline` value names; None without one.

    The one place the option's value is understood: today the path of a
    saved result. (A value such as `last`, a run of the scan history, would
    be resolved here too.) Read before any scan starts, so a bad file stops
    the command at once, and so the new result may be written over it
    (`--baseline last.json --json last.json` keeps comparing with the last run).
    """
    if value is None:
        return None
    try:
        return Baseline(value, read(Path(value)))
    except InputError as exc:
        raise InputError(f"--baseline: {exc}") from None


def baseline_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--baseline PREVIOUS.json`, handed to the command as `baseline`: the
    `Baseline` read and checked, or None when the option was not given."""

    @functools.wraps(command)
    def with_baseline(*args: Any, baseline_value: str | None, **kwargs: Any) -> Any:
        return command(*args, baseline=resolve_baseline(baseline_value), **kwargs)

    option = click.option(
        "--baseline",
        "baseline_value",
        metavar="PREVIOUS.json",
        help="Compare with an earlier result: each finding is new, changed or unchanged, and "
        "what is gone is fixed (its host scanned again) or not rescanned. Every format says so.",
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
    done = compared(result, baseline) if baseline is not None else result
    # A comparison saved with the result is cut to the part as well.
    return within(done, chosen) if chosen is not None else done


__all__ = ["Baseline", "against", "baseline_option", "resolve_baseline"]
