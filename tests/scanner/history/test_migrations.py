"""The history's schema on SQLite and PostgreSQL: a new store built to the
latest version, a version-1 store written by an older trustscan brought up
to date (its sightings filled from the runs it holds), a version-2 store's
whole results still read beside the parts new runs write, and a store written
by a newer trustscan refused, by the store and by `scan`, before any work."""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, Table, create_engine, func, inspect, select, update

from scanner.history import schema
from scanner.history.location import location
from scanner.history.recording import HistoryTooNew, open_session
from scanner.history.store import HistoryError, HistoryStore, Sighting, counts_of, migrate
from scanner.model import Finding, ScanResult, Severity
from scanner.result_io import dumps
from tests.scanner.history.runs import EOL, OUTDATED, SSH, at, record_run, result_on
from tests.support import FIXTURES, trustscan

X, Y, Z = EOL, OUTDATED, SSH
X_WORSE = replace(X, severity=Severity.CRITICAL)


@pytest.fixture
def engine(history_url: str) -> Iterator[Engine]:
    """A plain connection to the store, as SQL sees it."""
    raw = create_engine(location(history_url).url)
    try:
        yield raw
    finally:
        raw.dispose()


def _version(engine: Engine) -> str:
    with engine.connect() as conn:
        value = conn.execute(
            select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
        ).scalar()
    return str(value)


def _set_version(engine: Engine, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(schema.meta).where(schema.meta.c.key == "schema_version").values(value=value)
        )


def _count_runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.runs)).scalar() or 0)


def _old_run(
    conn: Connection,
    scope: str,
    result: ScanResult,
    states: Mapping[str, str],
    fixed: Sequence[Finding] = (),
    previous: int | None = None,
) -> int:
    """A run as a trustscan of schema version 1 wrote it: no sightings."""
    inserted = conn.execute(
        schema.runs.insert().values(
            uid=str(uuid.uuid4()),
            scope=scope,
            command="scan",
            started=result.started,
            finished=result.finished,
            recorded=result.finished,
            targets=json.dumps(list(result.targets)),
            ports="nmap -sV",
            rule_set=result.rule_set,
            tool_version="0.0.9",
            exit_code=0,
            not_covered="[]",
            hosts=len(result.hosts),
            counts=json.dumps(list(counts_of(result.findings))),
            previous=previous,
            systems="{}",
        )
    ).inserted_primary_key
    assert inserted is not None
    run = int(inserted[0])
    conn.execute(
        schema.findings.insert(),
        [
            {
                "run_id": run,
                "fingerprint": f.fingerprint,
                "rule_id": f.rule_id,
                "host": f.host,
                "port": f.port,
                "protocol": f.protocol,
                "severity": f.severity.value,
                "confidence": f.confidence.value,
                "title": f.title,
                "subject": f.subject,
                "cves": "",
                "accepted": False,
                "state": states[f.fingerprint],
            }
            for f in result.findings
        ],
    )
    if fixed:
        conn.execute(
            schema.fixed.insert(),
            [
                {
                    "run_id": run,
                    "fingerprint": f.fingerprint,
                    "rule_id": f.rule_id,
                    "host": f.host,
                    "port": f.port,
                    "severity": f.severity.value,
                    "title": f.title,
                }
                for f in fixed
            ],
        )
    data = zlib.compress(dumps(result).encode("utf-8"))
    conn.execute(schema.results.insert().values(run_id=run, data=data))
    return run


def test_a_new_store_is_built_to_the_latest_version(history_url: str, engine: Engine) -> None:
    store = HistoryStore(location(history_url))
    try:
        assert store.version == schema.LATEST
    finally:
        store.close()

    assert _version(engine) == str(schema.LATEST)
    assert set(inspect(engine).get_table_names()) == set(schema.metadata.tables)
    # Opened again: nothing to do.
    assert migrate(engine) == schema.LATEST
    assert _version(engine) == str(schema.LATEST)


def test_version_one_has_no_sightings(engine: Engine) -> None:
    assert migrate(engine, to=1) == 1

    assert _version(engine) == "1"
    assert set(inspect(engine).get_table_names()) == {
        "trustscan_meta",
        "runs",
        "results",
        "findings",
        "fixed",
    }


def test_version_two_stores_results_whole(engine: Engine) -> None:
    assert migrate(engine, to=2) == 2

    assert _version(engine) == "2"
    assert "result_parts" not in inspect(engine).get_table_names()


def _rows(engine: Engine, table: Table, run: int) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table).where(table.c.run_id == run)
        return int(conn.execute(query).scalar() or 0)


def test_a_version_two_store_keeps_its_results_and_stores_new_ones_in_parts(
    history_url: str, engine: Engine
) -> None:
    migrate(engine, to=2)
    first = result_on(0, (X, Y))
    with engine.begin() as conn:
        old = _old_run(conn, "shop", first, {X.fingerprint: "new", Y.fingerprint: "new"})

    store = HistoryStore(location(history_url))
    try:
        assert store.version == schema.LATEST == 3
        assert store.result_of(old) == first
        second, stored = record_run(store, result_on(1, (X, Z)), scope="shop")
        third, _ = record_run(store, result_on(2, (Z,)), scope="shop")
        assert store.result_of(second) == stored
        assert _rows(engine, schema.results, second) == 0
        assert _rows(engine, schema.result_parts, second) >= 1
        # Pruning deletes either kind.
        assert store.prune(at(1.5)) == (2, 1)
        assert _rows(engine, schema.results, old) == 0
        assert _rows(engine, schema.result_parts, second) == 0
        assert _rows(engine, schema.result_parts, third) >= 1
    finally:
        store.close()


def test_an_older_store_is_brought_up_to_date(history_url: str, engine: Engine) -> None:
    migrate(engine, to=1)
    first = result_on(0, (X, Y))
    second = result_on(1, (X_WORSE, Z))
    third = result_on(2, (Y, Z))
    elsewhere = result_on(1, (X,))
    with engine.begin() as conn:
        run1 = _old_run(conn, "shop", first, {X.fingerprint: "new", Y.fingerprint: "new"})
        run2 = _old_run(
            conn,
            "shop",
            second,
            {X.fingerprint: "changed", Z.fingerprint: "new"},
            fixed=(Y,),
            previous=run1,
        )
        run3 = _old_run(
            conn,
            "shop",
            third,
            {Y.fingerprint: "new", Z.fingerprint: "unchanged"},
            fixed=(X_WORSE,),
            previous=run2,
        )
        other = _old_run(conn, "other", elsewhere, {X.fingerprint: "new"})

    store = HistoryStore(location(history_url))
    try:
        assert store.version == schema.LATEST
        assert {s.fingerprint: s for s in store.sightings("shop")} == {
            # Seen in the first two runs, fixed in the third, as critical last.
            X.fingerprint: Sighting(
                X.fingerprint,
                at(0),
                at(1),
                at(2),
                Severity.CRITICAL,
                X.rule_id,
                X.host,
                80,
                X.title,
            ),
            # Fixed in the second run, back in the third: open again.
            Y.fingerprint: Sighting(
                Y.fingerprint,
                at(0),
                at(2),
                None,
                Severity.MEDIUM,
                Y.rule_id,
                Y.host,
                443,
                Y.title,
            ),
            Z.fingerprint: Sighting(
                Z.fingerprint, at(1), at(2), None, Severity.INFO, Z.rule_id, Z.host, 22, Z.title
            ),
        }
        assert [
            (s.fingerprint, s.first_seen, s.last_seen, s.fixed_at) for s in store.sightings("other")
        ] == [(X.fingerprint, at(1), at(1), None)]
        # The old runs read as they were written.
        assert [r.id for r in store.runs()] == [run3, other, run2, run1]  # the same day: by number
        assert store.run(str(run3)).previous == run2
        assert store.result_of(run1) == first
        assert store.result_of(run3) == third
        assert {r.fingerprint: r.state for r in store.findings_of(run2)} == {
            X.fingerprint: "changed",
            Z.fingerprint: "new",
        }
        assert [s.fingerprint for s in store.fixed_of(run3)] == [X.fingerprint]
        # And the next run is compared with the last old one.
        run4, _ = record_run(store, result_on(3, (Y, Z)), scope="shop")
        assert store.run(str(run4)).previous == run3
        assert {r.state for r in store.findings_of(run4)} == {"unchanged"}
        assert store.sightings("shop")[0].first_seen == at(0)
    finally:
        store.close()
    assert _version(engine) == str(schema.LATEST)


def test_an_empty_version_one_store_is_brought_up_to_date(history_url: str, engine: Engine) -> None:
    migrate(engine, to=1)

    store = HistoryStore(location(history_url))
    try:
        assert store.version == schema.LATEST
        assert store.runs() == []
        assert store.sightings("shop") == []
    finally:
        store.close()


def test_a_newer_store_is_refused(history_url: str, engine: Engine) -> None:
    store = HistoryStore(location(history_url))
    record_run(store, result_on(0, (X,)))
    store.close()
    _set_version(engine, "99")

    with pytest.raises(HistoryError) as refused:
        HistoryStore(location(history_url))
    with pytest.raises(HistoryTooNew):
        open_session(history_url)

    assert str(refused.value) == (
        f"history {location(history_url).shown}: the history database is at schema version "
        f"99, written by a newer trustscan (this one knows up to {schema.LATEST}): upgrade "
        "trustscan, or give another --history"
    )
    assert _version(engine) == "99"
    assert _count_runs(engine) == 1


def test_scan_refuses_a_newer_store_before_any_work(
    history_url: str, engine: Engine, tmp_path: Path
) -> None:
    store = HistoryStore(location(history_url))
    record_run(store, result_on(0, (X,)))
    store.close()
    _set_version(engine, "99")
    out = tmp_path / "result.json"

    run = trustscan(
        "scan",
        "--nmap-xml",
        str(FIXTURES / "nmap" / "apache-centos.xml"),
        "--history",
        history_url,
        "--json",
        str(out),
        env={"XDG_DATA_HOME": str(tmp_path)},
    )

    assert run.code == 2, run.err
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith(f"trustscan: error: history {location(history_url).shown}: ")
    assert "written by a newer trustscan" in lines[0]
    assert run.out == ""
    assert not out.exists()
    assert _count_runs(engine) == 1
    assert _version(engine) == "99"


def test_a_version_that_is_no_number_is_refused(history_url: str, engine: Engine) -> None:
    HistoryStore(location(history_url)).close()
    _set_version(engine, "two")

    with pytest.raises(HistoryError, match="schema version 'two' is not a number"):
        HistoryStore(location(history_url))
