"""The Redis and Memcached probes against the real servers of
tests/datastores.py (open, password, TLS), seeded with fake customers: what
each finds by names and by sampled values, a password that keeps it shut and
a credential that opens it, TLS-only servers, the --max-keys bound, and no
seeded value or password in any result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from fixtures.datastores.customers import MEMCACHED_USERS, raw_values
from scanner.probes.context import Probe, ProbeContext
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores import memcached, redis
from tests.datastores import Stores, StoreServer
from tests.scanner.probes.outcomes import (
    PLAINTEXT_ONLY,
    TLS_ONLY,
    Observations,
    assert_facts,
    assert_nothing_leaks,
    evidence,
    facts,
    gaps,
    observed_text,
    scan,
)

pytestmark = pytest.mark.integration


def _redis_customers_found(observations: Observations) -> None:
    found = facts(observations)
    assert int(found["store.pii.email"]) >= 250
    assert "db0 customer:*" in evidence(observations, "store.pii.email")
    assert int(found["store.pii.card-number"]) >= 250
    assert int(found["store.records"]) >= 361  # 250 customers, 60 sessions, 50 pages, products


def _redis_values_seen(observations: Observations) -> None:
    assert int(facts(observations)["store.card_numbers_plaintext"]) > 0
    assert facts(observations)["store.password_storage"] == "plaintext"
    # The session JSON's e-mail is found by its key, in the session pattern.
    assert "db0 session:*" in evidence(observations, "store.pii.email")


def _memcached_users_found(observations: Observations) -> None:
    found = facts(observations)
    assert int(found["store.pii.email"]) >= MEMCACHED_USERS
    assert "user:*:email" in evidence(observations, "store.pii.email")
    assert int(found["store.records"]) >= 2 * MEMCACHED_USERS + 20


def _memcached_values_seen(observations: Observations) -> None:
    assert int(facts(observations)["store.card_numbers_plaintext"]) > 0


@dataclass(frozen=True)
class KeyValueStore:
    kind: str
    probe: Probe
    plaintext_said: str  # how the plaintext answer shows in the evidence
    found: Callable[[Observations], None]  # the seeded records, by key names
    values_seen: Callable[[Observations], None]  # what --inspect-data adds
    max_keys: int  # a --max-keys well under the seeded keys
    partial: str  # how the gap about a partial listing begins
    records: range  # the record count estimated from the partial listing


REDIS = KeyValueStore(
    "redis",
    redis.probe,
    "a plaintext PING answered '+PONG'",
    _redis_customers_found,
    _redis_values_seen,
    100,
    "db0: visited 100 of ",
    range(361 - 10, 361 + 10 + 1),  # estimated: near the real total, not exact
)
MEMCACHED = KeyValueStore(
    "memcached",
    memcached.probe,
    "a plaintext version answered 'VERSION ",
    _memcached_users_found,
    _memcached_values_seen,
    30,
    "listed 30 of ",
    range(100, 1_000_000),
)
each_store = pytest.mark.parametrize("store", [REDIS, MEMCACHED], ids=lambda s: s.kind)


def _scan(store: KeyValueStore, server: StoreServer, ctx: ProbeContext) -> Observations:
    return scan(store.probe, server.address, server.port, store.kind, ctx)


def _credential(store: KeyValueStore, server: StoreServer, password: str) -> StoreCredential:
    return StoreCredential(store.kind, server.username, password, server.address)


def _assert_nothing_leaks(observations: Observations, *secrets: str) -> None:
    assert_nothing_leaks(observed_text(observations), raw_values(), *secrets)


@each_store
def test_an_open_store_is_read_by_key_names(store: KeyValueStore, stores: Stores) -> None:
    observations = _scan(store, stores.get(store.kind, "open"), ProbeContext())
    # Names only: no values sampled, so neither card nor password forms are known.
    unknown = {"store.card_numbers_plaintext": None, "store.password_storage": None}
    assert_facts(observations, {"store.auth": "none", **PLAINTEXT_ONLY, **unknown})
    assert store.plaintext_said in evidence(observations, "store.plaintext_allowed")
    store.found(observations)
    _assert_nothing_leaks(observations)


@each_store
def test_inspect_data_samples_values_and_masks_them(store: KeyValueStore, stores: Stores) -> None:
    server = stores.get(store.kind, "open")
    started = time.monotonic()
    observations = _scan(store, server, ProbeContext(inspect_data=True))
    assert time.monotonic() - started < 10
    store.found(observations)
    store.values_seen(observations)
    _assert_nothing_leaks(observations)


@each_store
def test_a_password_keeps_the_store_shut_and_a_credential_opens_it(
    store: KeyValueStore, stores: Stores
) -> None:
    server = stores.get(store.kind, "password")
    refused = _scan(store, server, ProbeContext())
    shut = {"store.auth": "required", "store.plaintext_allowed": "yes"}
    assert_facts(refused, {**shut, "store.personal_data": None})
    wrong = _credential(store, server, "wrong-" + server.password)
    assert_facts(_scan(store, server, ProbeContext(credentials=(wrong,))), shut)

    right = _credential(store, server, server.password)
    observations = _scan(store, server, ProbeContext(credentials=(right,), inspect_data=True))
    assert_facts(observations, {"store.auth": "supplied-credentials"})
    store.found(observations)
    store.values_seen(observations)
    _assert_nothing_leaks(observations + refused, server.password)


@each_store
def test_a_tls_only_store_is_read_over_tls(store: KeyValueStore, stores: Stores) -> None:
    observations = _scan(store, stores.get(store.kind, "tls"), ProbeContext(inspect_data=True))
    assert_facts(observations, {"store.auth": "none", **TLS_ONLY})
    assert evidence(observations, "store.tls_offered").startswith("a TLS handshake succeeded")
    assert "over TLS" in evidence(observations, "store.auth")
    store.found(observations)
    store.values_seen(observations)
    _assert_nothing_leaks(observations)


@each_store
def test_max_keys_bounds_the_listing_and_counts_are_estimated(
    store: KeyValueStore, stores: Stores
) -> None:
    server = stores.get(store.kind, "open")
    observations = _scan(store, server, ProbeContext(max_keys=store.max_keys))
    assert any(g.startswith(store.partial) for g in gaps(observations)), gaps(observations)
    assert int(facts(observations)["store.records"]) in store.records
