"""The history store on SQLite and PostgreSQL alike: a run recorded and read
back (a large one a batch of rows at a time), the findings' states against
the previous run, what was fixed, each finding's sightings, pruning, and two
writers recording at once."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from dataclasses import replace

import pytest

from scanner.history import store as history_store
from scanner.history.location import location
from scanner.history.recording import Session, record
from scanner.history.store import (
    RECORDING,
    HistoryError,
    HistoryStore,
    RunRow,
    Sighting,
    counts_of,
)
from scanner.history.stored_result import STORING
from scanner.model import FirstSeen, RunHistory, RunPoint, Severity
from tests.scanner.history.runs import (
    BARRIER_SECONDS,
    EOL,
    MARIADB,
    OUTDATED,
    ROUNDS,
    SCOPE,
    SSH,
    TRACE,
    WEB,
    WRITERS,
    at,
    record_run,
    result_on,
    write_runs,
)
from tests.scanner.steps import Steps

FIRST = (EOL, OUTDATED, MARIADB, SSH)
# The second run: EOL and SSH as they were, OUTDATED worse, MARIADB gone, TRACE new.
SECOND = (EOL, replace(OUTDATED, severity=Severity.HIGH), SSH, TRACE)


def _states(store: HistoryStore, run: int) -> dict[str, str]:
    return {row.fingerprint: row.state for row in store.findings_of(run)}


def _sightings(store: HistoryStore, scope: str = SCOPE) -> dict[str, Sighting]:
    return {s.fingerprint: s for s in store.sightings(scope)}


def test_a_recorded_run_reads_back(store: HistoryStore) -> None:
    result = result_on(0, FIRST, rule_set="rules@4f2c")

    run, stored = record_run(store, result, exit_code=1)

    assert store.runs() == [
        RunRow(
            id=run,
            scope=SCOPE,
            command="scan",
            started=result.started,
            finished=at(0),
            targets=("127.0.0.10", "127.0.0.11"),
            ports="nmap -sV -oX - 127.0.0.10 127.0.0.11",
            rule_set="rules@4f2c",
            tool_version="0.1.0",
            exit_code=1,
            not_covered=(),
            hosts=2,
            counts=(1, 1, 1, 0, 1),  # critical, high, medium, low, info
            previous=None,
        )
    ]
    assert store.run("last") == store.run(str(run)) == store.run("last", SCOPE)
    assert store.latest(SCOPE) == store.runs()[0]
    assert store.runs()[0].findings == 4
    # The result comes back whole, with what the history says of it.
    assert stored.history == RunHistory(
        store=store.shown,
        scope=SCOPE,
        run=run,
        runs=(RunPoint(run, at(0), (1, 1, 1, 0, 1)),),
        first_seen=tuple(FirstSeen(fp, at(0)) for fp in sorted(f.fingerprint for f in FIRST)),
    )
    assert stored == replace(result, history=stored.history)
    assert store.result_of(run) == stored


def test_a_large_run_is_written_a_batch_of_rows_at_a_time(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_store, "ROWS", 2)
    first, _ = record_run(store, result_on(0, FIRST))
    steps = Steps()
    session = Session(store.location, store)

    stored = record(session, result_on(1, SECOND), SCOPE, "scan", 0, (), steps)

    second = session.run
    # Progress after each batch of two findings (with their sightings), then the result.
    assert steps.kinds() == [RECORDING, STORING]
    assert steps.of(RECORDING) == [(2, 4, "findings"), (4, 4, "findings")]
    assert steps.of(STORING) == [(4, 4, "findings")]
    # Every row landed as it would in one statement.
    assert _states(store, second) == {
        EOL.fingerprint: "unchanged",
        OUTDATED.fingerprint: "changed",
        SSH.fingerprint: "unchanged",
        TRACE.fingerprint: "new",
    }
    assert [s.fingerprint for s in store.fixed_of(second)] == [MARIADB.fingerprint]
    assert set(_sightings(store)) == {f.fingerprint for f in (*FIRST, TRACE)}
    assert stored.history is not None
    assert stored.history.first_seen == tuple(
        sorted(
            (FirstSeen(f.fingerprint, at(1) if f is TRACE else at(0)) for f in SECOND),
            key=lambda seen: seen.fingerprint,
        )
    )
    assert store.result_of(second) == stored
    assert first < second


def test_a_runs_findings_are_read_one_at_a_time(store: HistoryStore) -> None:
    run, _ = record_run(store, result_on(0, FIRST))

    rows = store.each_finding_of(run)

    assert isinstance(rows, Iterator)
    assert sorted(rows, key=lambda r: r.fingerprint) == sorted(
        store.findings_of(run), key=lambda r: r.fingerprint
    )
    assert {r.fingerprint for r in store.findings_of(run)} == {f.fingerprint for f in FIRST}


def test_counts_are_critical_first() -> None:
    assert counts_of(FIRST) == (1, 1, 1, 0, 1)
    assert counts_of([TRACE, TRACE]) == (0, 0, 0, 2, 0)


def test_runs_of_a_scope_newest_first(store: HistoryStore) -> None:
    first, _ = record_run(store, result_on(0, FIRST))
    other, _ = record_run(store, result_on(1, FIRST), scope="production")
    second, stored = record_run(store, result_on(2, SECOND))

    assert [r.id for r in store.runs()] == [second, other, first]
    assert [r.id for r in store.runs(SCOPE)] == [second, first]
    assert [r.id for r in store.runs(limit=1)] == [second]
    assert store.run("last", "production").id == other
    assert store.scopes() == [(SCOPE, 2, at(2)), ("production", 1, at(1))]
    assert store.points(SCOPE) == [
        RunPoint(first, at(0), (1, 1, 1, 0, 1)),
        RunPoint(second, at(2), (0, 2, 0, 1, 1)),
    ]
    assert stored.history is not None
    assert stored.history.runs == tuple(store.points(SCOPE))


def test_a_missing_run_is_a_history_error(store: HistoryStore) -> None:
    assert store.latest(SCOPE) is None
    with pytest.raises(HistoryError, match=rf"no run is recorded of scope {SCOPE}$"):
        store.run("last", SCOPE)
    record_run(store, result_on(0, FIRST))

    with pytest.raises(HistoryError, match=r"no run 999$"):
        store.run("999")
    with pytest.raises(HistoryError, match="give a run number"):
        store.run("yesterday")
    with pytest.raises(HistoryError, match="run 999 has no stored result"):
        store.result_of(999)
    assert store.findings_of(999) == []


def test_findings_are_new_then_changed_unchanged_or_fixed(store: HistoryStore) -> None:
    first, _ = record_run(store, result_on(0, FIRST))
    second, _ = record_run(store, result_on(1, SECOND))

    assert _states(store, first) == dict.fromkeys((f.fingerprint for f in FIRST), "new")
    assert _states(store, second) == {
        EOL.fingerprint: "unchanged",
        OUTDATED.fingerprint: "changed",
        SSH.fingerprint: "unchanged",
        TRACE.fingerprint: "new",
    }
    assert store.run(str(second)).previous == first
    rows = {row.fingerprint: row for row in store.findings_of(second)}
    assert rows[OUTDATED.fingerprint].severity is Severity.HIGH
    assert (rows[TRACE.fingerprint].rule_id, rows[TRACE.fingerprint].port) == (
        "http-trace-enabled",
        80,
    )
    # MARIADB's host answered the second scan, on the port it was found on.
    assert store.fixed_of(second) == [
        Sighting(
            MARIADB.fingerprint,
            "",
            "",
            at(1),
            Severity.CRITICAL,
            MARIADB.rule_id,
            MARIADB.host,
            3306,
            MARIADB.title,
        )
    ]
    assert store.fixed_of(first) == []


def test_a_host_the_run_did_not_look_at_is_not_fixed(store: HistoryStore) -> None:
    record_run(store, result_on(0, FIRST))
    # Only the web server scanned: the database's findings are unknown, not fixed.
    second, _ = record_run(store, result_on(1, (EOL, OUTDATED), hosts=(WEB,)))

    assert store.fixed_of(second) == []
    assert _states(store, second) == dict.fromkeys(
        (EOL.fingerprint, OUTDATED.fingerprint), "unchanged"
    )
    sightings = _sightings(store)
    assert sightings[MARIADB.fingerprint].fixed_at is None
    assert sightings[MARIADB.fingerprint].last_seen == at(0)


def test_sightings_keep_first_seen_and_follow_the_finding(store: HistoryStore) -> None:
    record_run(store, result_on(0, FIRST))
    record_run(store, result_on(3, SECOND))  # MARIADB fixed
    after_fix = _sightings(store)
    record_run(store, result_on(7, (*SECOND, MARIADB)))  # MARIADB back
    back = _sightings(store)

    assert set(after_fix) == {f.fingerprint for f in (*FIRST, TRACE)}
    assert after_fix[MARIADB.fingerprint].fixed_at == at(3)
    assert after_fix[MARIADB.fingerprint].last_seen == at(0)
    assert after_fix[OUTDATED.fingerprint].severity is Severity.HIGH  # as last seen
    assert back[MARIADB.fingerprint] == replace(
        after_fix[MARIADB.fingerprint], last_seen=at(7), fixed_at=None
    )
    trace = back[TRACE.fingerprint]
    assert (trace.first_seen, trace.last_seen, trace.fixed_at) == (at(3), at(7), None)
    assert back[EOL.fingerprint] == Sighting(
        EOL.fingerprint,
        at(0),
        at(7),
        None,
        Severity.HIGH,
        "apache-httpd-eol",
        WEB.address,
        80,
        EOL.title,
    )
    assert _sightings(store, "production") == {}


def test_a_run_recorded_late_moves_first_seen_back_and_last_seen_not(
    store: HistoryStore,
) -> None:
    # Two scans of one scope at once: the one that finished first is recorded last.
    record_run(store, result_on(5, FIRST))
    late, _ = record_run(store, result_on(2, FIRST))

    seen = _sightings(store)[EOL.fingerprint]
    assert (seen.first_seen, seen.last_seen) == (at(2), at(5))
    assert store.latest(SCOPE) == store.runs()[0]
    assert store.runs()[0].finished == at(5)
    assert store.runs()[1].id == late


def test_set_exit_code(store: HistoryStore) -> None:
    run, _ = record_run(store, result_on(0, FIRST))

    store.set_exit_code(run, 2)

    assert store.run(str(run)).exit_code == 2


def test_prune_keeps_each_scopes_latest_and_first_sightings(store: HistoryStore) -> None:
    days = [record_run(store, result_on(day, FIRST if day < 2 else SECOND))[0] for day in range(4)]
    production, _ = record_run(store, result_on(0, FIRST), scope="production")

    # Days 0 and 1 of the scope go; day 2 no longer names its previous run.
    assert store.prune(at(1.5)) == (2, 3)
    assert [r.id for r in store.runs(SCOPE)] == [days[3], days[2]]
    assert store.run(str(days[2])).previous is None
    assert store.run(str(days[3])).previous == days[2]
    assert store.findings_of(days[0]) == []
    with pytest.raises(HistoryError, match=f"run {days[0]} has no stored result"):
        store.result_of(days[0])

    # Everything before day 5: only each scope's latest run stays.
    assert store.prune(at(5)) == (1, 2)
    assert [r.id for r in store.runs()] == [days[3], production]
    assert store.run(str(days[3])).previous is None
    assert store.fixed_of(days[2]) == []
    sightings = _sightings(store)
    assert sightings[EOL.fingerprint].first_seen == at(0)
    assert sightings[MARIADB.fingerprint].fixed_at == at(2)
    assert store.result_of(days[3]).finished == at(3)
    # Nothing left to prune.
    assert store.prune(at(5)) == (0, 2)


def test_prune_one_scope(store: HistoryStore) -> None:
    ours = [record_run(store, result_on(day, FIRST))[0] for day in range(2)]
    theirs = [record_run(store, result_on(day, FIRST), scope="production")[0] for day in range(2)]

    assert store.prune(at(5), scope="production") == (1, 3)
    assert [r.id for r in store.runs()] == [theirs[1], ours[1], ours[0]]


def test_prune_keeps_the_latest_run_even_when_it_was_recorded_first(
    store: HistoryStore,
) -> None:
    newest, _ = record_run(store, result_on(3, FIRST))
    record_run(store, result_on(1, FIRST))  # an earlier scan, recorded late

    assert store.prune(at(5)) == (1, 1)
    assert [r.id for r in store.runs()] == [newest]


def test_two_writers_at_once_both_land_once(history_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(len(WRITERS))
    out = spawn.Queue()
    writers = [
        spawn.Process(target=write_runs, args=(history_url, name, barrier, out)) for name in WRITERS
    ]
    for writer in writers:
        writer.start()
    # Generous: only a writer that died before reporting makes the test wait this long.
    reports = [out.get(timeout=2 * BARRIER_SECONDS) for _ in writers]
    for writer in writers:
        writer.join()

    assert [problem for _, _, problem in reports] == ["", ""]
    recorded = {name: runs for name, runs, _ in reports}
    store = HistoryStore(location(history_url))
    try:
        runs = store.runs()
        assert sorted(r.id for r in runs) == sorted(recorded["first"] + recorded["second"])
        assert len({r.id for r in runs}) == len(WRITERS) * ROUNDS
        for name, ids in recorded.items():
            for run in ids:
                findings = store.findings_of(run)
                assert sorted(row.fingerprint for row in findings) == sorted(
                    f.fingerprint for f in WRITERS[name]
                )
                assert store.result_of(run).history is not None
        sightings = store.sightings(SCOPE)
        assert sorted(s.fingerprint for s in sightings) == sorted(
            {f.fingerprint for found in WRITERS.values() for f in found}
        )
        assert {s.first_seen for s in sightings} == {at(0)}
    finally:
        store.close()
