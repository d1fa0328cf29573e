"""One record count per host and store, and which source wins."""

from __future__ import annotations

from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.records import (
    DUMP,
    INVENTORY,
    STORE_STATISTICS,
    counts_by_key,
    record_counts,
    records_of,
    result_counts,
)
from scanner.model import Observation
from tests.factories import make_observation, make_result

CACHE = "127.0.0.15"
DB = "127.0.0.16"


def _store(host: str, port: int, key: str, value: str) -> Observation:
    return make_observation(host=host, port=port, probe="datastore", key=key, value=value)


# The demo's Redis: 361 keys in all, 310 of them hold emails (customers and
# sessions), 250 the other kinds of personal data (customers only).
REDIS = (
    _store(CACHE, 6379, "store.personal_data", "yes"),
    _store(CACHE, 6379, "store.records", "361"),
    _store(CACHE, 6379, "store.pii.card-number", "250"),
    _store(CACHE, 6379, "store.pii.email", "310"),
    _store(CACHE, 6379, "store.pii.name", "250"),
    _store(CACHE, 6379, "store.contact_data", "310"),
)
POSTGRES = (
    _store(DB, 5432, "store.records", "890"),
    _store(DB, 5432, "store.pii.email", "250"),
    _store(DB, 5432, "store.contact_data", "250"),
)


def test_a_store_counts_the_records_that_hold_personal_data_not_its_total() -> None:
    counts = counts_by_key(record_counts(make_result(observations=REDIS)))
    store = records_of(counts, CACHE, 6379)
    assert store is not None
    assert (store.records, store.source) == (310, STORE_STATISTICS)
    assert store.where == "the most records of one kind: email"
    host = records_of(counts, CACHE)
    assert host is not None
    assert (host.records, host.source, host.where) == (310, STORE_STATISTICS, "port 6379")


def test_the_inventory_wins_for_the_host_and_every_store_on_it() -> None:
    inventory = Inventory(
        "assets.yaml", (Asset("customer-db", address=DB, customer_records=120_000, source="a:51"),)
    )
    counts = counts_by_key(record_counts(make_result(observations=POSTGRES), inventory))
    for port in (None, 5432):
        counted = records_of(counts, DB, port)
        assert counted is not None
        assert (counted.records, counted.source, counted.where) == (120_000, INVENTORY, "a:51")
    # The store's own count is kept, as a fact, but not shown for the store.
    assert counts[(DB, 5432)].records == 250


def test_a_host_without_an_inventory_count_holds_the_sum_of_its_stores() -> None:
    second = tuple(
        _store(CACHE, 6380, o.key, o.value) for o in REDIS if o.key.startswith("store.pii.")
    )
    counts = counts_by_key(record_counts(make_result(observations=REDIS + second)))
    host = records_of(counts, CACHE)
    assert host is not None
    assert host.records == 620
    assert host.where == "port 6379, port 6380"


def test_a_store_with_no_personal_data_holds_no_customer_records() -> None:
    observations = (
        _store(CACHE, 11211, "store.personal_data", "no"),
        _store(CACHE, 11211, "store.records", "4000"),
    )
    counts = counts_by_key(record_counts(make_result(observations=observations)))
    store = records_of(counts, CACHE, 11211)
    assert store is not None
    assert store.records == 0


def test_rows_read_from_a_dump_count_when_nothing_else_does() -> None:
    dump = make_observation(host="127.0.0.10", port=80, key="http.dump_records", value="120")
    counts = counts_by_key(record_counts(make_result(observations=(dump,))))
    counted = records_of(counts, "127.0.0.10", 80)
    assert counted is not None
    assert (counted.records, counted.source) == (120, DUMP)


def test_nothing_counted_is_none_not_zero() -> None:
    counts = counts_by_key(record_counts(make_result(observations=())))
    assert records_of(counts, CACHE) is None
    assert records_of(counts, CACHE, 6379) is None


def test_a_result_without_coverage_is_counted_from_its_observations() -> None:
    result = make_result(observations=REDIS)
    assert result.coverage is None
    counted = records_of(result_counts(result), CACHE, 6379)
    assert counted is not None
    assert counted.records == 310
