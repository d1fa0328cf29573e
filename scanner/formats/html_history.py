"""The HTML report's view of the scan history (`ScanResult.history`): which
run of which scope this is and in which store, a sparkline of the findings
per run, and each finding's first sighting and age.

It reads only the model: a report rendered from a saved result needs no
history store (and never loads SQLAlchemy). Ages run to the end of this
run, not to the moment of rendering, so the same result renders the same
page on any day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup

from scanner.formats.charts import number
from scanner.formats.history_charts import day, days_text, sparkline, total, whole_days
from scanner.model import RunHistory, ScanResult


@dataclass(frozen=True)
class Seen:
    """When the history first saw a finding, in words for its heading line."""

    first_seen: str  # as recorded: an ISO time
    day: str
    days: int | None  # whole days before this run ended; None when unknown
    this_run: bool  # first seen by this run: new to the history

    @property
    def text(self) -> str:
        if self.this_run:
            return "first seen in this run"
        if self.days is None:
            return f"first seen {self.day}"
        age = "less than a day" if self.days == 0 else days_text(self.days)
        return f"first seen {self.day}, {age}"

    @property
    def long_text(self) -> str:
        """For the finding's details: the exact time as well."""
        if self.this_run:
            return f"{self.first_seen}, in this run: new to the history of this scope"
        if self.days is None:
            return self.first_seen
        return f"{self.first_seen}, {days_text(self.days)} before this run"


@dataclass(frozen=True)
class HistoryView:
    history: RunHistory
    sparkline: Markup
    trend: str  # "From 7 findings in run 1 (2026-11-02) to 5 in run 3 (...), over 3 runs."
    seen: Mapping[str, Seen]  # by fingerprint
    earlier: int  # findings first seen before this run
    oldest: Seen | None  # the earliest first sighting of a current finding


def _seen(first_seen: str, finished: str) -> Seen:
    days = whole_days(first_seen, finished)
    return Seen(first_seen, day(first_seen), days, this_run=first_seen == finished)


def _trend(history: RunHistory) -> str:
    runs = history.runs
    if not runs:
        return "No run of this scope is recorded yet."
    first, last = runs[0], runs[-1]
    if len(runs) == 1:
        return f"{_findings(total(last))} in run {last.run}, the first of this scope."
    return (
        f"From {_findings(total(first))} in run {first.run} ({day(first.finished)}) "
        f"to {number(total(last))} in run {last.run} ({day(last.finished)}), "
        f"over {len(runs)} runs."
    )


def _findings(count: int) -> str:
    return f"{number(count)} finding{'' if count == 1 else 's'}"


def history_view(result: ScanResult) -> HistoryView | None:
    """The history panel and the first sightings; None without a history."""
    history = result.history
    if history is None:
        return None
    current = {f.fingerprint for f in result.findings}
    seen = {
        s.fingerprint: _seen(s.first_seen, result.finished)
        for s in history.first_seen
        if s.fingerprint in current
    }
    earlier = [s for s in seen.values() if not s.this_run]
    return HistoryView(
        history=history,
        sparkline=sparkline(
            history.runs, chart_id="chart-history", title="Findings per run of this scope"
        ),
        trend=_trend(history),
        seen=seen,
        earlier=len(earlier),
        oldest=min(earlier, key=lambda s: s.first_seen, default=None),
    )
