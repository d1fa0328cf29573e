"""Key patterns, their counts and their fields (Redis and Memcached), without a server."""

from __future__ import annotations

import pytest

from scanner.probes.clients.wire import Broken
from scanner.probes.datastores.keyspace import (
    KeyTally,
    estimate,
    field_of,
    key_pattern,
    read_session,
    summarise_values,
)
from scanner.probes.datastores.report import Container


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("customer:17", "customer:*"),
        ("session:5f2b9c0e8a7d4e1fb3c2a1d0e9f8a7b6", "session:*"),
        ("cache:page:12", "cache:page:*"),
        ("user:42:email", "user:*:email"),
        ("order_2024_17", "order_*_*"),
        ("token:3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b:owner", "token:*:owner"),
        ("login:ada.lovelace@example.com:attempts", "login:*:attempts"),
        ("api-key.v2.Zm9vYmFyMTIzNDU2Nzg5MGFi", "api-key.v2.*"),
        ("products", "products"),
        ("deadbeef:facade", "deadbeef:facade"),  # words made of hex letters stay
        ("queue:\x1b[2Jjobs\r\n", "queue: [2Jjobs"),
    ],
)
def test_keys_group_into_patterns(key: str, pattern: str) -> None:
    assert key_pattern(key) == pattern
    assert key_pattern(key.encode()) == pattern


def test_a_binary_key_groups_without_raising() -> None:
    assert key_pattern(b"\xff\xfe:17") == "\ufffd\ufffd:*"


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("user:*:email", "email"),
        ("cache:page:*", "page"),
        ("products", "products"),
        ("customer_*_phone_*", "phone"),
        ("*", "*"),
    ],
)
def test_the_field_a_pattern_names(pattern: str, name: str) -> None:
    assert field_of(pattern) == name


def test_tally_counts_and_keeps_a_few_keys_per_pattern() -> None:
    tally = KeyTally(keep=2)
    for n in range(5):
        tally.add(b"customer:%d" % n)
    tally.add(b"products")
    assert tally.counts == {"customer:*": 5, "products": 1}
    assert tally.samples["customer:*"] == [b"customer:0", b"customer:1"]
    assert tally.largest(1) == ["customer:*"]
    assert tally.visited == 6


def test_a_partial_visit_says_how_much_it_saw() -> None:
    tally = KeyTally(keep=0)
    for n in range(1500):
        tally.add(b"k:%d" % n)
    assert tally.shortfall(20_000, "keys") == (
        "1,500 of 20,000 keys; key-pattern record counts are estimated from them"
    )
    assert tally.shortfall(None, "items") == "1,500 items; counts are partial"


def test_record_counts_scale_only_when_the_scan_was_partial() -> None:
    assert estimate(50, 100, 100) == 50
    assert estimate(50, 100, None) == 50
    assert estimate(50, 100, 1000) == 500
    assert estimate(3, 0, 10) == 3


def test_json_values_become_fields_and_plain_values_the_patterns_field() -> None:
    values = ['{"customer_id": 3, "email": "ada@example.com"}', "not json"]
    fields = {f.name: f for f in summarise_values("session:*", values)}
    assert set(fields) == {"session", "customer_id", "email"}
    assert fields["email"].categories == ("email",)
    assert fields["email"].sampled == 1
    assert "ada@example.com" not in repr(fields)


def test_without_values_the_pattern_names_one_field() -> None:
    (only,) = summarise_values("user:*:email", None)
    assert (only.name, only.categories, only.sampled) == ("email", ("email",), 0)


def test_a_session_that_breaks_is_a_gap_and_is_closed() -> None:
    closed: list[bool] = []
    gaps: list[str] = []

    def broken() -> list[Container]:
        raise Broken("a reply over 4,096 bytes")

    assert read_session(broken, lambda: closed.append(True), gaps) == []
    assert gaps == ["the session ended: a reply over 4,096 bytes"]
    found = [Container("db0 customer:*", "key-pattern", 2)]
    assert read_session(lambda: found, lambda: closed.append(True), gaps) == found
    assert closed == [True, True]
