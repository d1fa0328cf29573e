"""The trends page: what the scan history says of one scope, as one
self-contained HTML file (`reports/trends.html.j2`).

It shares the scan report's environment (autoescaping, control characters
made visible), its style sheet and its Content-Security-Policy (`html`), and
has no script: the policy allows the one inline style sheet by its hash and
nothing else. The charts are inline SVG (`history_charts`), each with a table
of the same numbers for screen readers and paper. Every title, host and rule
id came from a target or a rules directory and is printed escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from markupsafe import Markup

from scanner.assessment.shown_paths import path_view
from scanner.formats._text import endpoint
from scanner.formats.charts import number
from scanner.formats.history_charts import (
    COUNT_ORDER,
    WIDE,
    by_severity,
    day,
    days_text,
    runs_chart,
    runs_chart_width,
    total,
)
from scanner.formats.html import assets, csp, environment
from scanner.formats.html_baseline import MAX_LISTED
from scanner.model import RunPoint, Severity

if TYPE_CHECKING:  # the page needs only their attributes, not SQLAlchemy
    from scanner.history.store import FindingRow, Sighting
    from scanner.history.trends import OpenFinding, Trends

OLDEST_SHOWN = 20


@dataclass(frozen=True)
class RunLine:
    """A run in the table beside the chart."""

    run: int
    day: str
    finished: str
    counts: tuple[int, ...]  # in `severities` order: critical first
    total: int


@dataclass(frozen=True)
class SeverityLine:
    """One severity's deadline, what is open and past it, and how fast it is fixed."""

    severity: Severity
    deadline: str  # "30 days", or "none"
    open: int
    overdue: int
    accepted: int
    fixed: int
    median: str  # days, or a dash when nothing was fixed


@dataclass(frozen=True)
class OldFinding:
    finding: OpenFinding
    where: str
    first_day: str
    age: int
    deadline: str  # "within 30 days", or "none"
    due: str  # the date it is due by ("2026-12-14"), or ""
    status: str  # overdue, accepted, due, none: the mark's class
    mark: str  # the mark in words


@dataclass(frozen=True)
class Change:
    severity: Severity
    title: str
    where: str
    rule_id: str


@dataclass(frozen=True)
class Changes:
    items: tuple[Change, ...]
    more: int  # not listed

    @property
    def total(self) -> int:
        return len(self.items) + self.more


@dataclass(frozen=True)
class TrendsView:
    trends: Trends
    chart: Markup
    wide: bool  # the chart is too wide to shrink onto a phone: it scrolls in its box
    runs: tuple[RunLine, ...]  # newest first
    first: RunPoint | None
    last: RunPoint | None
    open_counts: tuple[int, ...]  # in `severities` order
    open_total: int
    overdue_total: int
    accepted_total: int
    severities: tuple[SeverityLine, ...]
    deadlines: str  # "critical 7 days, high 30 days, medium 90 days"
    oldest: tuple[OldFinding, ...]
    oldest_more: int
    new: Changes
    changed: Changes
    fixed: Changes


def _median(days: float | None) -> str:
    return "\u2013" if days is None else number(days, 1)


def _due(first_seen: str, deadline: int | None) -> str:
    if deadline is None:
        return ""
    try:
        return (datetime.fromisoformat(first_seen) + timedelta(days=deadline)).date().isoformat()
    except (TypeError, ValueError):
        return ""


def _mark(finding: OpenFinding) -> tuple[str, str]:
    """The finding's standing against its deadline: a class and the words."""
    if finding.accepted:
        return "accepted", "accepted risk"
    if finding.deadline_days is None:
        return "none", "no deadline"
    late = finding.age_days - finding.deadline_days
    if finding.overdue:
        return "overdue", f"overdue by {days_text(int(late))}" if late >= 1 else "overdue"
    left = int(-late)
    return "due", f"due in {days_text(left)}" if left >= 1 else "due within a day"


def _old(finding: OpenFinding) -> OldFinding:
    status, mark = _mark(finding)
    return OldFinding(
        finding=finding,
        where=endpoint(finding.host, finding.port),
        first_day=day(finding.first_seen),
        age=int(finding.age_days),
        deadline=(
            f"within {days_text(finding.deadline_days)}"
            if finding.deadline_days is not None
            else "none"
        ),
        due=_due(finding.first_seen, finding.deadline_days),
        status=status,
        mark=mark,
    )


def _changes(rows: Iterable[FindingRow | Sighting]) -> Changes:
    items = [Change(r.severity, r.title, endpoint(r.host, r.port), r.rule_id) for r in rows]
    return Changes(tuple(items[:MAX_LISTED]), max(0, len(items) - MAX_LISTED))


def _severity_lines(trends: Trends) -> tuple[SeverityLine, ...]:
    open_counts = trends.open_counts()
    overdue = trends.overdue()
    fixes = {f.severity: f for f in trends.fix_times}
    lines = []
    for severity in COUNT_ORDER:
        deadline = trends.deadlines.get(severity)
        fix = fixes.get(severity)
        lines.append(
            SeverityLine(
                severity=severity,
                deadline=days_text(deadline) if deadline is not None else "none",
                open=open_counts.get(severity, 0),
                overdue=overdue.get(severity, 0),
                accepted=sum(f.accepted for f in trends.open if f.severity is severity),
                fixed=fix.fixed if fix is not None else 0,
                median=_median(fix.median_days if fix is not None else None),
            )
        )
    return tuple(lines)


def _deadlines(trends: Trends) -> str:
    named = [
        f"{s.value} {days_text(trends.deadlines[s])}" for s in COUNT_ORDER if s in trends.deadlines
    ]
    return ", ".join(named) if named else "none"


def _run_lines(points: Sequence[RunPoint]) -> tuple[RunLine, ...]:
    lines = []
    for point in reversed(points):
        counts = by_severity(point)
        lines.append(
            RunLine(
                run=point.run,
                day=day(point.finished),
                finished=point.finished,
                counts=tuple(counts[s] for s in COUNT_ORDER),
                total=total(point),
            )
        )
    return tuple(lines)


def trends_view(trends: Trends) -> TrendsView:
    runs = trends.runs
    chart = runs_chart(
        runs, chart_id="chart-runs", title="Findings by severity per run, oldest first"
    )
    open_counts = trends.open_counts()
    return TrendsView(
        trends=trends,
        chart=chart,
        wide=runs_chart_width(len(runs)) > WIDE,
        runs=_run_lines(runs),
        first=runs[0] if runs else None,
        last=runs[-1] if runs else None,
        open_counts=tuple(open_counts[s] for s in COUNT_ORDER),
        open_total=len(trends.open),
        overdue_total=sum(f.overdue for f in trends.open),
        accepted_total=sum(f.accepted for f in trends.open),
        severities=_severity_lines(trends),
        deadlines=_deadlines(trends),
        oldest=tuple(_old(f) for f in trends.open[:OLDEST_SHOWN]),
        oldest_more=max(0, len(trends.open) - OLDEST_SHOWN),
        new=_changes(trends.new),
        changed=_changes(trends.changed),
        fixed=_changes(trends.fixed),
    )


def render_trends(trends: Trends, generated: str) -> str:
    """The trends page of one scope; `generated` (an ISO time) is when it was
    made, said in its footer. No I/O: the caller writes the text."""
    style, _script = assets()
    # The store as a report shows paths: relative, from ~, or its name.
    trends = replace(trends, store=path_view().path(trends.store))
    return (
        environment()
        .get_template("trends.html.j2")
        .render(
            view=trends_view(trends),
            trends=trends,
            severities=COUNT_ORDER,
            generated=generated,
            css=style.text,
            csp=csp(style, None),
        )
    )
