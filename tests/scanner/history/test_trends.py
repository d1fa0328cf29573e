"""A scope's trends, from runs days apart: open findings per run, the median
time to fix by severity, what is past its fix deadline (never an accepted
risk), and `--fix-within` parsing."""

from __future__ import annotations

import pytest

from scanner.history.store import HistoryStore
from scanner.history.trends import DEFAULT_DEADLINES, FixTime, parse_deadlines, trends
from scanner.model import Severity
from scanner.support.errors import InputError
from tests.factories import make_finding
from tests.scanner.history.runs import (
    EOL,
    MARIADB,
    OUTDATED,
    SCOPE,
    TRACE,
    accepted,
    at,
    critical,
    record_run,
    result_on,
)

C1, C2, C3 = MARIADB, critical("redis-open", 6379), critical("memcached-open", 11211)
H1 = EOL  # high, open throughout
H2 = make_finding(rule_id="tls-expired", port=443, severity=Severity.HIGH, title="expired")
ACCEPTED = accepted(make_finding(rule_id="tls-weak", port=443, severity=Severity.HIGH))
LAPSED = accepted(make_finding(rule_id="tls-old", port=443, severity=Severity.HIGH), expired=True)
M1 = OUTDATED  # medium, open throughout
L1 = TRACE  # low, new in the last run
STAYING = (H1, ACCEPTED, LAPSED, M1)


@pytest.fixture
def history(store: HistoryStore) -> list[int]:
    """Four runs of SCOPE: the criticals fixed after 2, 3 and 10 days, H2 after 10."""
    return [
        record_run(store, result_on(0, (C1, C2, C3, H2, *STAYING)))[0],
        record_run(store, result_on(2, (C2, C3, H2, *STAYING)))[0],
        record_run(store, result_on(3, (C3, H2, *STAYING)))[0],
        record_run(store, result_on(10, (*STAYING, L1)))[0],
    ]


def test_open_findings_per_run(store: HistoryStore, history: list[int]) -> None:
    seen = trends(store, SCOPE)

    assert [(p.run, p.finished, p.counts) for p in seen.runs] == [
        (history[0], at(0), (3, 4, 1, 0, 0)),
        (history[1], at(2), (2, 4, 1, 0, 0)),
        (history[2], at(3), (1, 4, 1, 0, 0)),
        (history[3], at(10), (0, 3, 1, 1, 0)),
    ]
    assert seen.latest is not None
    assert seen.latest.id == history[3]
    assert seen.open_counts() == {
        Severity.CRITICAL: 0,
        Severity.HIGH: 3,
        Severity.MEDIUM: 1,
        Severity.LOW: 1,
        Severity.INFO: 0,
    }
    assert [f.fingerprint for f in seen.new] == [L1.fingerprint]
    assert seen.changed == ()
    assert [(f.fingerprint, f.fixed_at) for f in seen.fixed] == [
        (C3.fingerprint, at(10)),
        (H2.fingerprint, at(10)),
    ]
    assert [p.run for p in trends(store, SCOPE, runs=2).runs] == history[2:]


def test_median_time_to_fix_by_severity(store: HistoryStore, history: list[int]) -> None:
    # Criticals took 2, 3 and 10 days: the median is 3 (the mean would be 5).
    assert trends(store, SCOPE).fix_times == (
        FixTime(Severity.CRITICAL, 3, 3.0),
        FixTime(Severity.HIGH, 1, 10.0),
        FixTime(Severity.MEDIUM, 0, None),
        FixTime(Severity.LOW, 0, None),
        FixTime(Severity.INFO, 0, None),
    )


def test_open_findings_age_from_their_first_sighting(
    store: HistoryStore, history: list[int]
) -> None:
    ages = {f.fingerprint: (f.first_seen, f.age_days) for f in trends(store, SCOPE).open}

    assert ages == {
        **{f.fingerprint: (at(0), 10.0) for f in STAYING},
        L1.fingerprint: (at(10), 0.0),
    }


def test_overdue_against_the_deadlines(store: HistoryStore, history: list[int]) -> None:
    by_default = trends(store, SCOPE)
    strict = trends(store, SCOPE, parse_deadlines(["high=5,low=0"]))

    # Ten days old: within 30 days for a high, 90 for a medium.
    assert by_default.overdue() == dict.fromkeys(DEFAULT_DEADLINES, 0)
    assert strict.overdue() == {Severity.CRITICAL: 0, Severity.HIGH: 2, Severity.MEDIUM: 0}
    overdue = {f.fingerprint for f in strict.open if f.overdue}
    # The accepted risk is never overdue; an acceptance that expired no longer counts.
    assert overdue == {H1.fingerprint, LAPSED.fingerprint}
    flags = {f.fingerprint: (f.accepted, f.deadline_days) for f in strict.open}
    assert flags[ACCEPTED.fingerprint] == (True, 5)
    assert flags[LAPSED.fingerprint] == (False, 5)
    assert flags[L1.fingerprint] == (False, None)


def test_an_accepted_risk_is_never_overdue(store: HistoryStore) -> None:
    record_run(store, result_on(0, (ACCEPTED, LAPSED)))
    record_run(store, result_on(400, (ACCEPTED, LAPSED)))

    seen = trends(store, SCOPE, parse_deadlines(["high=1"]))

    assert sorted((f.fingerprint, f.age_days, f.overdue) for f in seen.open) == sorted(
        [(ACCEPTED.fingerprint, 400.0, False), (LAPSED.fingerprint, 400.0, True)]
    )


def test_a_scope_without_runs(store: HistoryStore, history: list[int]) -> None:
    seen = trends(store, "production")

    assert (seen.runs, seen.latest, seen.open, seen.fixed) == ((), None, (), ())
    assert all(fix.fixed == 0 for fix in seen.fix_times)


def test_parse_deadlines_over_the_defaults() -> None:
    assert parse_deadlines([]) == dict(DEFAULT_DEADLINES)
    assert parse_deadlines(["critical=7,high=30"]) == {
        Severity.CRITICAL: 7,
        Severity.HIGH: 30,
        Severity.MEDIUM: 90,
    }
    assert parse_deadlines(["high=14", "Low = 60"]) == {
        Severity.CRITICAL: 7,
        Severity.HIGH: 14,
        Severity.MEDIUM: 90,
        Severity.LOW: 60,
    }
    assert parse_deadlines(["low=3", "low=0", "medium=0"]) == {
        Severity.CRITICAL: 7,
        Severity.HIGH: 30,
    }


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("high", "high"),
        ("high=soon", "high=soon"),
        ("urgent=3", "urgent=3"),
        ("high=-1", "high=-1"),
        ("high=3651", "high=3651"),
        ("critical=7,,high=30", ""),
        ("=7", "=7"),
    ],
)
def test_parse_deadlines_refuses_junk(value: str, part: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_deadlines([value])

    assert str(refused.value) == (
        f"--fix-within {part!r}: give SEVERITY=DAYS, as high=30 (0 removes the deadline)"
    )
