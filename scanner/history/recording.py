"""What `scan` and `local` do with the history: open it before the scan (a
store too new stops the command before any work), compare with the previous
run of the scope (`--baseline last`), and record the finished run.

A store that cannot be reached or stays locked never costs the scan: the
command goes on without it, writes its outputs, and says why the run was not
recorded (`Session.problem`), which makes it incomplete (exit 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from scanner.assessment.baseline import Baseline, Coverage
from scanner.history.location import StoreLocation, location
from scanner.history.store import FindingRow, HistoryError, HistoryStore, RunFacts
from scanner.model import BaselineState, Finding, FirstSeen, RunHistory, RunPoint, ScanResult
from scanner.support.progress import QUIET, Progress


class HistoryTooNew(HistoryError):
    """The store was written by a newer trustscan: refused before any work."""


@dataclass
class Session:
    """The history of one command: open, or why not (`problem`)."""

    where: StoreLocation | None
    store: HistoryStore | None = None
    problem: str = ""
    run: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.where is not None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def open_session(value: str | None, enabled: bool = True) -> Session:
    """The history `--history` names (`--no-history`: none). A malformed
    URL or a newer schema is an error; an unreachable or locked store is a
    problem the command reports at its end."""
    if not enabled:
        return Session(None)
    where = location(value)
    try:
        return Session(where, HistoryStore(where))
    except HistoryError as exc:
        if "newer trustscan" in str(exc):
            raise HistoryTooNew(str(exc)) from None
        return Session(where, None, problem=str(exc))


def last_baseline(session: Session, scope: str) -> Baseline | None:
    """`--baseline last`: the previous run of this scope; None when there is
    none yet (a first run, where every finding is new) or no store."""
    if session.store is None:
        session.notes.append(
            f"--baseline last: no history to compare with ({session.problem or 'off'}); "
            "every finding counts as new"
        )
        return None
    try:
        previous = session.store.latest(scope)
        if previous is None:
            session.notes.append(
                f"--baseline last: no earlier run of scope {scope} in {session.store.shown}; "
                "every finding counts as new"
            )
            return None
        earlier = session.store.result_of(previous.id)
    except HistoryError as exc:
        session.problem = str(exc)
        return None
    return Baseline(f"{session.store.shown} run {previous.id}", earlier)


def record(
    session: Session,
    result: ScanResult,
    scope: str,
    command: str,
    exit_code: int,
    not_covered: tuple[str, ...],
    progress: Progress = QUIET,
) -> ScanResult:
    """Record the run; the result as stored, with its history. On failure the
    result is returned as it was and `session.problem` says why. `progress`
    hears of the findings written and the result stored."""
    store = session.store
    if store is None:
        return result
    try:
        previous = store.latest(scope)
        states: dict[str, BaselineState] = {}
        gone: list[FindingRow] = []
        if previous is not None:
            states, gone = _against(store, previous.id, result)
        facts = RunFacts(scope, command, exit_code, not_covered, previous.id if previous else None)
        session.run, stored = store.record(result, facts, states, gone, progress)
    except HistoryError as exc:
        session.problem = str(exc)
        return result
    return stored


def _against(
    store: HistoryStore, previous: int, result: ScanResult
) -> tuple[dict[str, BaselineState], list[FindingRow]]:
    """The findings' states against the previous run's rows (those absent
    are new), and the rows it found fixed. The rows are read one at a time:
    only those fixed are kept."""
    coverage = Coverage(result, store.systems(previous))
    current = {f.fingerprint: f for f in result.findings}
    states: dict[str, BaselineState] = {}
    gone: list[FindingRow] = []
    for row in store.each_finding_of(previous):
        finding = current.get(row.fingerprint)
        if finding is not None:
            states[row.fingerprint] = _state(finding, row)
        elif coverage.covers(row):
            gone.append(row)
    return states, gone


def _state(finding: Finding, before: FindingRow | None) -> BaselineState:
    """The finding against its row in the previous run: what
    `assessment.baseline.changes` compares (severity, confidence, the CVE
    ids), read from the rows so that no earlier result is decoded."""
    if before is None:
        return BaselineState.NEW
    moved = (
        before.severity is not finding.severity
        or before.confidence != finding.confidence.value
        or before.cves != {v.id for v in finding.vulnerabilities}
    )
    return BaselineState.CHANGED if moved else BaselineState.UNCHANGED


def with_history(
    result: ScanResult,
    shown: str,
    scope: str,
    run: int,
    points: tuple[RunPoint, ...],
    first_seen: tuple[FirstSeen, ...],
) -> ScanResult:
    return replace(
        result,
        history=RunHistory(store=shown, scope=scope, run=run, runs=points, first_seen=first_seen),
    )
