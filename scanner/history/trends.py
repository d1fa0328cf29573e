"""The runs of one scope, as an auditor asks about them: how many findings
are open by severity over time, how long fixing takes, which open findings
are oldest and which are past their fix deadline, and what the last run
changed.

A finding is open while the latest run of the scope has it; its age runs
from its first sighting (`sightings.first_seen`, kept through pruning) to
that run. Time to fix is from first seen to the run that found it fixed. An
accepted risk stays open but is not past any deadline: someone owns it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from scanner.history.store import FindingRow, HistoryStore, RunRow, Sighting
from scanner.model import RunPoint, Severity
from scanner.support.errors import InputError

# Days to fix by severity, as most policies set them (PCI DSS asks for
# critical fixes within a month; CISA's BOD 22-01 gives KEV two weeks).
DEFAULT_DEADLINES: Mapping[Severity, int] = {
    Severity.CRITICAL: 7,
    Severity.HIGH: 30,
    Severity.MEDIUM: 90,
}
RUNS_SHOWN = 100
OLDEST_SHOWN = 20


@dataclass(frozen=True)
class OpenFinding:
    fingerprint: str
    rule_id: str
    host: str
    port: int | None
    severity: Severity
    title: str
    first_seen: str
    age_days: float
    accepted: bool
    deadline_days: int | None  # None: no deadline for its severity

    @property
    def overdue(self) -> bool:
        return (
            not self.accepted
            and self.deadline_days is not None
            and self.age_days > self.deadline_days
        )


@dataclass(frozen=True)
class FixTime:
    severity: Severity
    fixed: int
    median_days: float | None


@dataclass(frozen=True)
class Trends:
    store: str
    scope: str
    runs: tuple[RunPoint, ...]  # oldest first
    latest: RunRow | None
    open: tuple[OpenFinding, ...]  # oldest first
    fix_times: tuple[FixTime, ...]  # critical first
    deadlines: Mapping[Severity, int]
    new: tuple[FindingRow, ...] = ()  # in the latest run
    changed: tuple[FindingRow, ...] = ()
    fixed: tuple[Sighting, ...] = ()

    def overdue(self) -> dict[Severity, int]:
        counts = dict.fromkeys(self.deadlines, 0)
        for finding in self.open:
            if finding.overdue:
                counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts

    def open_counts(self) -> dict[Severity, int]:
        counts = dict.fromkeys(Severity, 0)
        for finding in self.open:
            counts[finding.severity] += 1
        return counts


def parse_deadlines(values: Sequence[str]) -> dict[Severity, int]:
    """`--fix-within high=14` (repeatable; `critical=7,high=30` too) over the
    defaults; `low=0` removes a deadline."""
    deadlines = dict(DEFAULT_DEADLINES)
    for value in values:
        for part in value.split(","):
            name, sep, days = part.partition("=")
            try:
                severity = Severity(name.strip().lower())
                number = int(days)
            except ValueError:
                number, severity = -1, Severity.INFO
            if not sep or number < 0 or number > 3650:
                raise InputError(
                    f"--fix-within {part.strip()[:40]!r}: give SEVERITY=DAYS, as high=30 "
                    "(0 removes the deadline)"
                )
            if number == 0:
                deadlines.pop(severity, None)
            else:
                deadlines[severity] = number
    return deadlines


def days_between(start: str, end: str) -> float:
    try:
        return (
            max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
            / 86400
        )
    except (ValueError, TypeError):  # unreadable, or one time without a zone
        return 0.0


def trends(
    store: HistoryStore,
    scope: str,
    deadlines: Mapping[Severity, int] = DEFAULT_DEADLINES,
    runs: int = RUNS_SHOWN,
) -> Trends:
    """What the history says of one scope."""
    points = tuple(store.points(scope, runs))
    latest = store.latest(scope)
    sightings = {s.fingerprint: s for s in store.sightings(scope)}
    open_findings: list[OpenFinding] = []
    new: list[FindingRow] = []
    changed: list[FindingRow] = []
    fixed: list[Sighting] = []
    if latest is not None:
        for row in store.findings_of(latest.id):
            seen = sightings.get(row.fingerprint)
            first = seen.first_seen if seen is not None else latest.finished
            open_findings.append(
                OpenFinding(
                    row.fingerprint,
                    row.rule_id,
                    row.host,
                    row.port,
                    row.severity,
                    row.title,
                    first,
                    days_between(first, latest.finished),
                    row.accepted,
                    deadlines.get(row.severity),
                )
            )
            if row.state == "new":
                new.append(row)
            elif row.state == "changed":
                changed.append(row)
        fixed = store.fixed_of(latest.id)
    open_findings.sort(key=lambda f: (f.first_seen, -f.severity.rank, f.host, f.rule_id))
    return Trends(
        store=store.shown,
        scope=scope,
        runs=points,
        latest=latest,
        open=tuple(open_findings),
        fix_times=_fix_times(sightings.values()),
        deadlines=dict(deadlines),
        new=tuple(sorted(new, key=lambda r: (-r.severity.rank, r.host, r.rule_id))),
        changed=tuple(sorted(changed, key=lambda r: (-r.severity.rank, r.host, r.rule_id))),
        fixed=tuple(sorted(fixed, key=lambda s: (-s.severity.rank, s.host, s.rule_id))),
    )


def _fix_times(sightings: Iterable[Sighting]) -> tuple[FixTime, ...]:
    spans: dict[Severity, list[float]] = {s: [] for s in Severity}
    for seen in sightings:
        if seen.fixed_at:
            spans[seen.severity].append(days_between(seen.first_seen, seen.fixed_at))
    return tuple(
        FixTime(s, len(spans[s]), statistics.median(spans[s]) if spans[s] else None)
        for s in sorted(Severity, key=lambda s: -s.rank)
    )
