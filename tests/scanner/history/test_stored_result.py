"""A run's stored result on SQLite and PostgreSQL: written as one zlib stream
in parts as it is made, read back whole; a run recorded before the parts (one
row of `results`) read alike; a stream cut short or damaged is an error."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import replace

import pytest
from sqlalchemy import delete, func, select

from scanner.history import schema, stored_result
from scanner.history.store import HistoryError, HistoryStore
from scanner.model import Finding
from scanner.result_io import compact
from tests.scanner.history.runs import EOL, MARIADB, OUTDATED, SSH, record_run, result_on
from tests.scanner.steps import Steps

FOUR = (EOL, OUTDATED, MARIADB, SSH)


def _many(count: int) -> tuple[Finding, ...]:
    """Findings whose evidence does not compress: a stream long enough for
    zlib to hand out pieces before its end (it holds back what it has not
    compressed yet)."""
    return tuple(
        replace(
            EOL,
            fingerprint=f"{i:024x}",
            evidence=(hashlib.sha256(str(i).encode()).hexdigest() * 2,),
        )
        for i in range(count)
    )


def _parts(store: HistoryStore, run: int) -> list[bytes]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(schema.result_parts.c.data)
            .where(schema.result_parts.c.run_id == run)
            .order_by(schema.result_parts.c.part)
        )
        return [bytes(r.data) for r in rows]


def test_a_result_is_stored_in_parts_of_one_stream(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored_result, "PART_BYTES", 16_384)

    run, stored = record_run(store, result_on(0, _many(3000)))

    parts = _parts(store, run)
    assert len(parts) >= 3
    assert all(len(p) >= 16_384 for p in parts[:-1])
    assert max(len(p) for p in parts) < sum(len(p) for p in parts) / 2
    # The parts are one zlib stream, as a whole result was stored before them.
    assert zlib.decompress(b"".join(parts)).decode("utf-8") == compact(stored)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(schema.results)).scalar() == 0
    assert store.result_of(run) == stored


def test_a_result_stored_whole_by_an_older_trustscan_reads_back(store: HistoryStore) -> None:
    run, stored = record_run(store, result_on(0, FOUR))
    whole = zlib.compress(compact(stored).encode("utf-8"), 1)
    with store.engine.begin() as conn:
        conn.execute(delete(schema.result_parts).where(schema.result_parts.c.run_id == run))
        conn.execute(schema.results.insert().values(run_id=run, data=whole))

    assert store.result_of(run) == stored


def test_storing_says_how_many_findings_are_stored(store: HistoryStore) -> None:
    steps = Steps()
    result = result_on(0, FOUR)
    run, _stored = record_run(store, result)  # the parts need a run to belong to
    with store.engine.begin() as conn:
        conn.execute(delete(schema.result_parts).where(schema.result_parts.c.run_id == run))
        written = stored_result.write_result(conn, run, result, steps)

    assert written == 1
    assert steps.of(stored_result.STORING) == [(4, 4, "findings")]
    assert store.result_of(run) == result


def test_a_stream_cut_short_is_an_error(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stored_result, "PART_BYTES", 16_384)
    run, _stored = record_run(store, result_on(0, _many(1000)))
    last = len(_parts(store, run)) - 1
    assert last > 0
    with store.engine.begin() as conn:
        conn.execute(
            delete(schema.result_parts).where(
                schema.result_parts.c.run_id == run, schema.result_parts.c.part == last
            )
        )

    with pytest.raises(HistoryError, match=f"run {run}: the stored result ends before its end"):
        store.result_of(run)


def test_a_damaged_stream_is_an_error(store: HistoryStore) -> None:
    run, _stored = record_run(store, result_on(0, FOUR))
    with store.engine.begin() as conn:
        conn.execute(
            schema.result_parts.update()
            .where(schema.result_parts.c.run_id == run)
            .values(data=b"not zlib at all")
        )

    with pytest.raises(HistoryError, match=f"run {run}: the stored result does not decompress"):
        store.result_of(run)


def test_a_run_without_a_stored_result_says_so(store: HistoryStore) -> None:
    run, _stored = record_run(store, result_on(0, FOUR))
    with store.engine.begin() as conn:
        conn.execute(delete(schema.result_parts))

    with pytest.raises(HistoryError, match=f"run {run} has no stored result"):
        store.result_of(run)
