"""A run's whole result in the history, so that a past report renders again.

It is the result's compact JSON (`result_io.compact`) as one zlib stream
(level 1). Since schema version 3 the stream is written as it is made, in
parts of about `PART_BYTES` (`result_parts`): neither trustscan nor the
database holds the whole of it at once, which for a 100,000-host scan is
over 100 MB compressed (SQLite copies a bound value twice), and no one value
nears the 1 GB that SQLite and PostgreSQL allow it. Runs recorded before
hold the same stream in one row of `results`; both read back alike.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from sqlalchemy import Connection, select

from scanner.history import schema
from scanner.model import ScanResult
from scanner.result_io import compact_chunks
from scanner.support.progress import QUIET, Progress

PART_BYTES = 4 * 1024 * 1024
LEVEL = 1  # fast: the JSON repeats itself, and level 1 already shrinks it about 15 times
STORING = "storing the result in the history"


class DamagedResult(ValueError):
    """A stored stream that does not decompress, or ends before its end."""


def write_result(
    conn: Connection, run_id: int, result: ScanResult, progress: Progress = QUIET
) -> int:
    """Store `result` as run `run_id`'s; returns the parts written."""
    compressor = zlib.compressobj(LEVEL)
    held: list[bytes] = []
    size = part = 0
    for piece in compact_chunks(result, progress, STORING):
        out = compressor.compress(piece.encode("utf-8"))
        if not out:
            continue
        held.append(out)
        size += len(out)
        if size >= PART_BYTES:
            _insert(conn, run_id, part, held)
            held, size, part = [], 0, part + 1
    held.append(compressor.flush())
    _insert(conn, run_id, part, held)
    return part + 1


def _insert(conn: Connection, run_id: int, part: int, held: list[bytes]) -> None:
    conn.execute(schema.result_parts.insert().values(run_id=run_id, part=part, data=b"".join(held)))


def read_result(conn: Connection, run_id: int) -> bytearray | None:
    """Run `run_id`'s result as UTF-8 JSON; None when none is stored."""
    whole = conn.execute(
        select(schema.results.c.data).where(schema.results.c.run_id == run_id)
    ).scalar()
    if whole is not None:
        return _decompressed([whole])
    parts = conn.execute(
        select(schema.result_parts.c.data)
        .where(schema.result_parts.c.run_id == run_id)
        .order_by(schema.result_parts.c.part)
        .execution_options(yield_per=1)  # one part in memory at a time
    )
    return _decompressed(row.data for row in parts)


def _decompressed(pieces: Iterable[bytes]) -> bytearray | None:
    decompressor = zlib.decompressobj()
    text = bytearray()
    found = False
    try:
        for piece in pieces:
            found = True
            text += decompressor.decompress(piece)
        text += decompressor.flush()
    except zlib.error as exc:
        raise DamagedResult(f"the stored result does not decompress ({exc})") from None
    if not found:
        return None
    if not decompressor.eof:
        raise DamagedResult("the stored result ends before its end")
    return text
