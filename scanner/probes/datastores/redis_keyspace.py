"""Reading a logged-in Redis's keyspace: the databases `INFO keyspace`
names, each one's keys by `SCAN ... COUNT` (never `KEYS *`) grouped into
patterns, `TYPE` of one key a pattern, hash field names (`HLEN`, then
`HKEYS` or one `HSCAN` page), and with `--inspect-data` a few values a
pattern (`HGET` after `HSTRLEN`, `GETRANGE` after `STRLEN`, a few set, list
and sorted-set members), which go straight to the personal-data detectors.

Bounded by --max-keys (shared fairly among the databases), --max-containers,
the sample size and the probe's time budget. A lost connection is reopened
(logged in again, in the same database); what could not be read is a gap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from redis.exceptions import ResponseError

from scanner.probes import personal_data
from scanner.probes.clients.redis import (
    REPLY_OVERHEAD,
    Command,
    Link,
    Lost,
    RedisTarget,
    authenticate,
    error_code,
)
from scanner.probes.context import ProbeContext
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.keyspace import (
    JSON_BYTES,
    MAX_FIELDS,
    VALUE_BYTES,
    KeyTally,
    estimate,
    summarise_values,
)
from scanner.probes.datastores.report import Container
from scanner.probes.evidence import clean
from scanner.probes.personal_data import FieldReport

MAX_DATABASES = 16  # db0..db15: Redis's default, and our bound on SELECT
SCAN_COUNT = 100  # SCAN's COUNT hint: keys per round trip
SCAN_ROUNDS_PER_PAGE = 10  # round trips allowed per SCAN_COUNT keys wanted
FIELD_KEYS = 3  # keys per pattern whose hash field names are read
HKEYS_LIMIT = 200  # HKEYS on a hash this small; one HSCAN page on a bigger one
_KEYSPACE_LINE = re.compile(r"^db(\d+):keys=(\d+)", re.MULTILINE)


def _text(reply: object) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply) if reply is not None else ""


def keyspace(info: str) -> dict[int, int]:
    """Keys per database from INFO keyspace (`db0:keys=350,expires=0,...`)."""
    return {
        int(db): int(keys)
        for db, keys in _KEYSPACE_LINE.findall(info)
        if int(db) < MAX_DATABASES and int(keys) > 0
    }


@dataclass
class Reader:
    """The inventory of one logged-in session, with what it could not read."""

    target: RedisTarget
    link: Link
    credential: StoreCredential | None
    ctx: ProbeContext
    gaps: list[str] = field(default_factory=list)
    db: int = 0
    alive: bool = True
    tally_samples: dict[str, list[bytes]] = field(default_factory=dict)

    def close(self) -> None:
        self.link.close()

    def reopen(self) -> bool:
        """A fresh link after a lost one, logged in and in the same database."""
        self.link.close()
        try:
            link = self.target.open()
            if self.credential is not None and authenticate(link, self.credential):
                return False
            if self.db:
                link.call("SELECT", self.db)
        except (Lost, ResponseError):
            return False
        self.link = link
        return True

    def select(self, db: int) -> bool:
        if db == self.db:
            return True
        try:
            self.link.call("SELECT", db)
        except ResponseError as exc:
            self.gaps.append(f"db{db}: SELECT answered -{error_code(exc)}")
            return False
        self.db = db
        return True

    def scan(self, db: int, quota: int) -> KeyTally:
        """Up to `quota` distinct keys of the selected database, by SCAN."""
        keep = max(FIELD_KEYS, self.ctx.sample_size if self.ctx.inspect_data else 0)
        tally = KeyTally(keep)
        seen: set[bytes] = set()
        cursor = b"0"
        # SCAN may return empty pages; a peer could return them forever.
        rounds = SCAN_ROUNDS_PER_PAGE * (quota // SCAN_COUNT + 1)
        for _ in range(rounds):
            if tally.visited >= quota or self.target.deadline.expired:
                return tally
            count = min(SCAN_COUNT, quota - tally.visited)
            reply = self.link.call("SCAN", cursor, "COUNT", count)
            if not (
                isinstance(reply, list)
                and len(reply) == 2
                and isinstance(reply[0], bytes)
                and reply[0].isdigit()
                and isinstance(reply[1], list)
            ):
                self.gaps.append(f"db{db}: SCAN answered something that is not a cursor")
                return tally
            cursor = reply[0]
            for key in reply[1]:
                if isinstance(key, bytes) and key not in seen and tally.visited < quota:
                    seen.add(key)
                    tally.add(key)
            if cursor == b"0":
                tally.complete = True
                return tally
        self.gaps.append(f"db{db}: SCAN was still going after {rounds} round trips")
        return tally


def _hash_fields(reader: Reader, keys: Sequence[bytes]) -> dict[str, bytes]:
    """Field names of a few hashes of the pattern: shown name -> raw name."""
    sizes = reader.link.batch([("HLEN", k) for k in keys])
    names: dict[str, bytes] = {}
    for key, size in zip(keys, sizes, strict=True):
        if not isinstance(size, int):
            continue
        if size <= HKEYS_LIMIT:
            reply = reader.link.call("HKEYS", key)
            found = reply if isinstance(reply, list) else []
        else:
            # One page of a big hash: field names, never the whole of it.
            reply = reader.link.call("HSCAN", key, 0, "COUNT", HKEYS_LIMIT)
            pairs = reply[1] if isinstance(reply, list) and len(reply) == 2 else []
            found = pairs[::2] if isinstance(pairs, list) else []
        for name in found:
            if isinstance(name, bytes) and len(names) < MAX_FIELDS:
                names.setdefault(clean(name, 60), name)
    return names


def _hash_values(
    reader: Reader, keys: Sequence[bytes], names: dict[str, bytes]
) -> dict[str, list[str]]:
    """Up to sample_size values per hash field, each checked with HSTRLEN first."""
    pairs = [
        (k, shown, raw) for k in keys[: reader.ctx.sample_size] for shown, raw in names.items()
    ]
    sizes = reader.link.batch([("HSTRLEN", k, raw) for k, _, raw in pairs])
    small = [
        (pair, size)
        for pair, size in zip(pairs, sizes, strict=True)
        if isinstance(size, int) and 0 < size <= VALUE_BYTES
    ]
    cap = sum(size + REPLY_OVERHEAD for _, size in small)
    replies = reader.link.batch([("HGET", k, raw) for (k, _, raw), _ in small], cap)
    values: dict[str, list[str]] = {}
    for ((_, shown, _), _), reply in zip(small, replies, strict=True):
        if isinstance(reply, bytes):
            values.setdefault(shown, []).append(reply.decode("utf-8", "replace"))
    return values


def _string_values(reader: Reader, keys: Sequence[bytes]) -> list[str]:
    """Values of string keys: STRLEN first, then at most JSON_BYTES of each
    (the whole of a small one, so a JSON object parses) with GETRANGE."""
    keys = keys[: reader.ctx.sample_size]
    sizes = reader.link.batch([("STRLEN", k) for k in keys])
    reads = [
        (key, size if size <= JSON_BYTES else VALUE_BYTES)
        for key, size in zip(keys, sizes, strict=True)
        if isinstance(size, int) and size > 0
    ]
    cap = sum(n + REPLY_OVERHEAD for _, n in reads)
    replies = reader.link.batch([("GETRANGE", k, 0, n - 1) for k, n in reads], cap)
    return [r.decode("utf-8", "replace") for r in replies if isinstance(r, bytes)]


_MEMBERS = {
    "set": lambda key, n: ("SRANDMEMBER", key, n),
    "list": lambda key, n: ("LRANGE", key, 0, n - 1),
    "zset": lambda key, n: ("ZRANGE", key, 0, n - 1),
}


def _member_values(reader: Reader, kind: str, keys: Sequence[bytes]) -> list[str]:
    """A few members of sets, lists and sorted sets (bounded by the reply cap)."""
    make: Callable[[bytes, int], Command] = _MEMBERS[kind]
    values: list[str] = []
    if reader.ctx.sample_size < 1:
        return values  # LRANGE key 0 -1 would be the whole list
    for key in keys[:FIELD_KEYS]:
        reply = reader.link.call(*make(key, reader.ctx.sample_size))
        if isinstance(reply, list):
            values += [
                m[:VALUE_BYTES].decode("utf-8", "replace") for m in reply if isinstance(m, bytes)
            ]
        if len(values) >= reader.ctx.sample_size:
            break
    return values[: reader.ctx.sample_size]


def _pattern_fields(
    reader: Reader, pattern: str, kind: str, keys: Sequence[bytes]
) -> tuple[FieldReport, ...]:
    inspect = reader.ctx.inspect_data
    if kind == "hash":
        names = _hash_fields(reader, keys[:FIELD_KEYS])
        if not inspect:
            return summarise_values(pattern, None, list(names))
        values = _hash_values(reader, keys, names)
        return tuple(personal_data.summarise_field(n, pattern, values.get(n, [])) for n in names)
    if not inspect:
        return summarise_values(pattern, None)
    if kind == "string":
        return summarise_values(pattern, _string_values(reader, keys))
    if kind in _MEMBERS:
        return summarise_values(pattern, _member_values(reader, kind, keys))
    return summarise_values(pattern, None)  # streams, module types: names only


def _pattern_container(
    reader: Reader, name: str, pattern: str, kind: str, records: int
) -> Container:
    if not reader.alive or reader.target.deadline.expired:
        return Container(name, "key-pattern", records)
    try:
        fields = _pattern_fields(reader, pattern, kind, reader.tally_samples[pattern])
    except Lost as lost:
        reader.gaps.append(f"{name}: reading it stopped: {lost.reason}")
        reader.alive = reader.reopen()
        fields = ()
    except ResponseError as exc:
        reader.gaps.append(f"{name}: -{error_code(exc)}")
        fields = ()
    return Container(name, "key-pattern", records, fields)


def _database(
    reader: Reader, db: int, total: int | None, quota: int, room: int
) -> tuple[list[Container], int]:
    """The key patterns of one database, and how many keys were visited."""
    tally = reader.scan(db, quota)
    if not tally.complete:
        what = "keys (--max-keys or the time budget)"
        reader.gaps.append(f"db{db}: visited {tally.shortfall(total, what)}")
    # Scaled up to the keyspace size only when the scan stopped short.
    total = None if tally.complete else total
    patterns = tally.largest(room)
    if len(tally.counts) > room:
        reader.gaps.append(f"db{db}: {len(tally.counts) - room} more key pattern(s) not listed")
    reader.tally_samples = tally.samples
    kinds = reader.link.batch([("TYPE", tally.samples[p][0]) for p in patterns])
    containers = [
        _pattern_container(
            reader,
            f"db{db} {pattern}",
            pattern,
            _text(kind).lower(),
            estimate(tally.counts[pattern], tally.visited, total),
        )
        for pattern, kind in zip(patterns, kinds, strict=True)
    ]
    return containers, tally.visited


def _totals(reader: Reader) -> dict[int, int | None]:
    try:
        return dict(keyspace(_text(reader.link.call("INFO", "keyspace"))))
    except ResponseError as exc:
        reader.gaps.append(f"INFO keyspace answered -{error_code(exc)}; scanning db0 only")
        return {0: None}


def _stop_reason(reader: Reader, room: int, quota: int) -> str:
    """Why the next database is not read, or "" to read it."""
    if reader.target.deadline.expired:
        return f"the {reader.ctx.time_budget:g}s time budget ran out"
    if not reader.alive:
        return "the session ended"
    if room <= 0:
        return "--max-containers was reached"
    return "--max-keys was reached" if quota <= 0 else ""


def inventory(reader: Reader) -> list[Container]:
    ctx = reader.ctx
    totals = _totals(reader)
    containers: list[Container] = []
    quota = ctx.max_keys
    for index, (db, total) in enumerate(sorted(totals.items())):
        room = ctx.max_containers - len(containers)
        why = _stop_reason(reader, room, quota)
        if why:
            reader.gaps.append(f"stopped before db{db}: {why}")
            break
        # Share what is left of --max-keys fairly among the databases to come.
        share = max(1, quota // (len(totals) - index))
        if not reader.select(db):
            continue
        try:
            found, visited = _database(reader, db, total, share, room)
        except ResponseError as exc:
            reader.gaps.append(f"db{db}: -{error_code(exc)}")
            continue
        except Lost as lost:
            reader.gaps.append(f"db{db}: reading it stopped: {lost.reason}")
            reader.alive = reader.reopen()
            continue
        quota = max(0, quota - visited)
        containers += found
    if reader.target.deadline.expired:
        reader.gaps.append(
            f"the {ctx.time_budget:g}s time budget ran out; the inventory is partial"
        )
    return containers
