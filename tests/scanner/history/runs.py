"""Runs to record in the history tests: results of one scope days apart, built
with `tests.factories`, recorded as the CLI records them, and the writer the
concurrency tests start in processes of their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from scanner.history.location import location
from scanner.history.recording import Session, record
from scanner.history.store import HistoryStore
from scanner.model import Acceptance, Finding, ScanResult, Severity
from tests.factories import make_finding, make_result

SCOPE = "staging-shop"
DAY0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# make_result's two hosts: the web server (127.0.0.10) and the database (127.0.0.11).
WEB, DB = make_result().hosts
# make_result's four findings, and one more on the web server.
EOL, OUTDATED, MARIADB, SSH = make_result().findings
TRACE = make_finding(
    rule_id="http-trace-enabled",
    severity=Severity.LOW,
    title="HTTP TRACE is enabled",
    category="configuration",
)


def at(day: float) -> str:
    """The time `day` days after DAY0, as results write it."""
    return (DAY0 + timedelta(days=day)).isoformat(timespec="seconds")


def result_on(day: float, findings: Sequence[Finding], **overrides: Any) -> ScanResult:
    """make_result, finished `day` days after DAY0 (after a five-minute scan), with `findings`."""
    finished = DAY0 + timedelta(days=day)
    fields: dict[str, Any] = {
        "started": (finished - timedelta(minutes=5)).isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "findings": tuple(findings),
    }
    fields.update(overrides)
    return make_result(**fields)


def critical(rule_id: str, port: int) -> Finding:
    """A critical finding on the database host."""
    return make_finding(
        rule_id=rule_id,
        host=DB.address,
        port=port,
        severity=Severity.CRITICAL,
        title=f"{rule_id} on {port}",
    )


def accepted(finding: Finding, expired: bool = False) -> Finding:
    acceptance = Acceptance(
        owner="web@example.test",
        expires="2027-06-30",
        reason="behind the VPN until the migration",
        source="accepted-risks.yaml:3",
        expired=expired,
    )
    return replace(finding, accepted=acceptance)


def record_run(
    store: HistoryStore, result: ScanResult, scope: str = SCOPE, exit_code: int = 0
) -> tuple[int, ScanResult]:
    """Record `result` as `trustscan scan` does: its run number and the result as stored."""
    session = Session(store.location, store)
    stored = record(session, result, scope, "scan", exit_code, ())
    assert not session.problem, session.problem
    assert session.run > 0
    return session.run, stored


# The concurrency tests' writers: each records ROUNDS runs of one scope, all
# of them starting together. Their findings overlap on EOL and OUTDATED.
ROUNDS = 4
WRITERS: dict[str, tuple[Finding, ...]] = {
    "first": (EOL, OUTDATED, MARIADB),
    "second": (EOL, OUTDATED, SSH, TRACE),
}
BARRIER_SECONDS = 300  # only a writer that crashed keeps the other waiting this long


def write_runs(
    url: str, name: str, barrier: Barrier, out: Queue[tuple[str, list[int], str]]
) -> None:
    """Open the store and record ROUNDS runs, each step starting with the other writer."""
    runs: list[int] = []
    problem = ""
    try:
        barrier.wait(BARRIER_SECONDS)  # both open (and migrate) the fresh store together
        store = HistoryStore(location(url))
        try:
            barrier.wait(BARRIER_SECONDS)  # then record together
            for day in range(ROUNDS):
                runs.append(record_run(store, result_on(day, WRITERS[name]))[0])
        finally:
            store.close()
    except BaseException as exc:  # the parent reports it; the other writer stops waiting
        barrier.abort()
        problem = f"{type(exc).__name__}: {exc}"
    out.put((name, runs, problem))
