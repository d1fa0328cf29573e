"""How many customer records a host, or one of its stores, holds: one count
per fact, from one source, used by every view (risk factors, the
customer-trust summary, the report's data stores and top risks).

Which source wins
-----------------

1. **The inventory** (`customer_records` of the host's asset): the owner's
   count of the whole system, which knows what a read-only login cannot see
   (replicas, other schemas, archives). When it gives one, it is the count of
   the host *and of every store on it*, so the same store never shows two
   numbers.
2. **The store's own statistics**, read by a data-store probe
   (`store.pii.<category>`, `store.contact_data`): the records of the tables,
   collections or key patterns that hold personal data, as the store counts
   them (no full scans). A store's count is its largest count of one kind of
   personal data, one record a customer whatever fields it has. Not the
   store's total (`store.records`), which also counts sessions, counters and
   other rows that hold no personal data.
3. **Rows read from a dump** a web server hands out (`http.dump_records`):
   only the part read (64 KiB), so a lower bound.

Sampled values (`--inspect-data`) never make a count: a sample of 20 says
which kinds of data are there, not how many. A host with no inventory count
holds the sum of its stores' and dumps' counts (each copy of the data leaks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scanner.assessment.inventory import Inventory
from scanner.model import Observation, RecordCount, ScanResult

INVENTORY = "inventory"
STORE_STATISTICS = "store statistics"
DUMP = "rows read from a dump"

# Why each source's count is what it is, for a reader.
SOURCE_WORDS = {
    INVENTORY: "the inventory's count for the whole system",
    STORE_STATISTICS: "the store's own statistics for the tables or keys that hold personal data",
    DUMP: "the rows read from a dump (its first 64 KiB only: a lower bound)",
}

# (host, port): port None for the host itself.
Key = tuple[str, int | None]


def _count(value: str) -> int:
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


@dataclass
class _Seen:
    records: int = 0
    what: str = ""


def _observed(observations: Iterable[Observation]) -> dict[Key, RecordCount]:
    """Each store's and each dump's count, from the probes' observations."""
    stores: dict[Key, _Seen] = {}
    dumps: dict[Key, int] = {}
    for obs in observations:
        if obs.port is None:
            continue
        key: Key = (obs.host, obs.port)
        if obs.key.startswith("store.pii.") or obs.key == "store.contact_data":
            seen = stores.setdefault(key, _Seen())
            count = _count(obs.value)
            if not seen.what or count > seen.records:
                kind = obs.key.removeprefix("store.pii.").removeprefix("store.")
                seen.records, seen.what = (
                    count,
                    f"the most records of one kind: {kind.replace('_', ' ')}",
                )
        elif obs.key == "store.personal_data" and obs.value == "no":
            stores.setdefault(key, _Seen(0, "no personal data"))
        elif obs.key == "http.dump_records":
            dumps[key] = dumps.get(key, 0) + _count(obs.value)
    counted = {
        key: RecordCount(key[0], key[1], seen.records, STORE_STATISTICS, seen.what)
        for key, seen in stores.items()
    }
    for (host, port), records in dumps.items():
        counted.setdefault((host, port), RecordCount(host, port, records, DUMP))
    return counted


def record_counts(
    result: ScanResult, inventory: Inventory | None = None
) -> tuple[RecordCount, ...]:
    """Every count of the result: each host's (port None) and each counted
    store's or dump's, hosts in the result's order, stores by port."""
    names = {h.address: h.hostnames for h in result.hosts}
    observed = _observed(result.observations)
    hosts = list(dict.fromkeys([*names, *(host for host, _port in observed)]))
    counts: list[RecordCount] = []
    for host in hosts:
        asset = inventory.lookup(host, names.get(host, ())) if inventory is not None else None
        parts = sorted(
            (c for (h, _p), c in observed.items() if h == host), key=lambda c: c.port or 0
        )
        if asset is not None and asset.customer_records is not None:
            counts.append(RecordCount(host, None, asset.customer_records, INVENTORY, asset.source))
        elif parts:
            sources = dict.fromkeys(c.source for c in parts)
            source = next(iter(sources)) if len(sources) == 1 else STORE_STATISTICS
            where = ", ".join(f"port {c.port}" for c in parts)
            counts.append(RecordCount(host, None, sum(c.records for c in parts), source, where))
        counts.extend(parts)
    return tuple(counts)


def counts_by_key(counts: Iterable[RecordCount]) -> dict[Key, RecordCount]:
    return {(c.host, c.port): c for c in counts}


def records_of(
    counts: Mapping[Key, RecordCount], host: str, port: int | None = None
) -> RecordCount | None:
    """The one count of a host (port None) or of the store or dump on one of
    its ports: the inventory's when it counts the host, else what was counted
    there; None when nothing was."""
    system = counts.get((host, None))
    if system is not None and system.source == INVENTORY:
        return system
    return counts.get((host, port))


def result_counts(result: ScanResult) -> dict[Key, RecordCount]:
    """The counts an assessed result carries (`Coverage.records`), or, for a
    result of an older version, those its observations give (no inventory)."""
    if result.coverage is not None:
        return counts_by_key(result.coverage.records)
    return counts_by_key(record_counts(result))
