"""Scan histories for tests: results that change from run to run, recorded
into a real SQLite store in a temporary directory, the way `trustscan scan`
records them (`scanner.history.recording.record`).

`SCOPE`'s four runs, a fortnight or so apart (`sample_results`):

1. 2026-09-01: the four findings of `make_result()`: MariaDB exposed
   (critical), Apache end of life (high), Apache outdated on 443 (medium),
   the SSH banner (info).
2. 2026-09-15: the outdated 443 is gone (fixed); HTTP TRACE (low) is new.
3. 2026-10-06: TRACE is fixed; the end of life moved to critical
   (changed); a high finding with a hostile title and a medium one on a
   third port are new.
4. 2026-11-02: the hostile finding is fixed; the SSH banner is accepted;
   the rest stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from scanner.history.location import location
from scanner.history.recording import Session, record
from scanner.history.store import HistoryStore
from scanner.history.trends import Trends, trends
from scanner.model import Acceptance, Finding, ScanResult, Severity
from tests.factories import make_finding, make_result

SCOPE = "shop-web"
HOSTILE_TITLE = '<script>alert(1)</script> Banner "quoted" & <b>bold</b>'
TIMES = (
    "2026-09-01T02:00:00+00:00",
    "2026-09-15T02:00:00+00:00",
    "2026-10-06T02:00:00+00:00",
    "2026-11-02T02:00:00+00:00",
)


def _trace() -> Finding:
    return make_finding(
        rule_id="http-trace-enabled",
        title="HTTP TRACE is enabled",
        severity=Severity.LOW,
        category="configuration",
    )


def _hostile() -> Finding:
    return make_finding(
        rule_id="banner-<img src=x onerror=alert(2)>",
        port=80,
        title=HOSTILE_TITLE,
        severity=Severity.HIGH,
        category="exposure",
    )


def _php() -> Finding:
    return make_finding(
        rule_id="php-eol",
        host="127.0.0.11",
        port=3306,
        title="PHP 7.4 is end of life",
        severity=Severity.MEDIUM,
        subject="php",
    )


def _accepted(finding: Finding) -> Finding:
    return replace(
        finding,
        accepted=Acceptance(
            owner="ops@example.test",
            expires="2027-06-30",
            reason="the banner is needed by the monitoring",
            source="accept.yaml:4",
        ),
    )


def sample_results() -> list[ScanResult]:
    """The four results of `SCOPE`, oldest first (see the module's docstring)."""
    base = make_result()
    eol, outdated, mariadb, ssh = base.findings
    findings: list[tuple[Finding, ...]] = [
        (eol, outdated, mariadb, ssh),
        (eol, mariadb, ssh, _trace()),
        (replace(eol, severity=Severity.CRITICAL), mariadb, ssh, _hostile(), _php()),
        (replace(eol, severity=Severity.CRITICAL), mariadb, _accepted(ssh), _php()),
    ]
    return [
        replace(
            base,
            started=finished.replace("T02:00", "T01:55"),
            finished=finished,
            findings=found,
        )
        for finished, found in zip(TIMES, findings, strict=True)
    ]


def open_store(path: Path) -> HistoryStore:
    return HistoryStore(location("sqlite:///" + str(path)))


def record_all(
    store: HistoryStore, results: Sequence[ScanResult], scope: str = SCOPE
) -> list[ScanResult]:
    """Record each result as a `scan` of the scope; the results as stored,
    each with its history (`ScanResult.history`)."""
    session = Session(store.location, store)
    stored = []
    for result in results:
        stored.append(record(session, result, scope, "scan", 0, ()))
        assert not session.problem, session.problem
    return stored


def sample_history(directory: Path) -> tuple[HistoryStore, list[ScanResult], Trends]:
    """`SCOPE`'s four runs recorded in `directory/history.sqlite`: the open
    store, the results as stored and the scope's trends."""
    store = open_store(directory / "history.sqlite")
    stored = record_all(store, sample_results())
    return store, stored, trends(store, SCOPE)


def many_results(runs: int) -> list[ScanResult]:
    """`runs` results a day apart whose findings come and go: the first
    `i % 7` of twelve findings of several severities on run `i`, and a
    thirteenth always (so no run is empty)."""
    severities = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)
    pool = [
        make_finding(
            rule_id=f"rule-{k}",
            port=8000 + k,
            title=f"Finding number {k}",
            severity=severities[k % len(severities)],
        )
        for k in range(13)
    ]
    base = make_result()
    results = []
    for i in range(runs):
        finished = f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}T03:00:00+00:00"
        results.append(
            replace(base, started=finished, finished=finished, findings=(*pool[: i % 7], pool[12]))
        )
    return results
