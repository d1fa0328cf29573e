"""The MongoDB probe against a replay of recorded mongod replies (no MongoDB in Debian)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bson import json_util

from scanner.probes import personal_data
from scanner.probes.context import ProbeContext
from scanner.probes.datastores.mongodb import applies, keys_pipeline, report
from scanner.probes.datastores.report import Auth, StoreReport
from tests.factories import make_service
from tests.scanner.probes.outcomes import (
    PLAINTEXT_ONLY,
    Observations,
    assert_facts,
    assert_nothing_leaks,
    auditor,
    facts,
    field,
    observed_text,
    reported,
    strings_in,
)
from tests.scanner.probes.replay import (
    MONGODB_FIXTURES,
    OPEN_WITH_CUSTOMERS,
    SAMPLED_EMAIL,
    MongoReplay,
    mongodb,
    replay_fixture,
)

ADDRESS = "127.0.50.1"
PASSWORD = "Tr0ub4dor&3-mongo-test"  # noqa: S105  # a test password no reply may let out
USERS = {("admin", "auditor"): PASSWORD}
SAMPLE = 5
# Seeded in find.json: 1250 customers, 4800 orders, 40 products, 52000 page views.
ALL_RECORDS = 1250 + 4800 + 40 + 52000


def _context(**overrides: Any) -> ProbeContext:
    return ProbeContext(**{"timeout": 2.0, "sample_size": SAMPLE, **overrides})


def _raw_values() -> set[str]:
    """Every string value in the recorded documents."""
    exchanges = json_util.loads((MONGODB_FIXTURES / "find.json").read_text())["exchanges"]
    return strings_in([e["reply"]["cursor"]["firstBatch"] for e in exchanges])


def _probe(server: MongoReplay, ctx: ProbeContext) -> tuple[StoreReport, Observations]:
    return reported(report, ADDRESS, server.port, ctx)


open_server = replay_fixture(mongodb, ADDRESS)
auth_server = replay_fixture(mongodb, ADDRESS, auth=True, users=USERS)


def test_applies_to_what_nmap_calls_mongodb() -> None:
    assert applies(make_service(port=27017, name="mongodb", product="MongoDB", version="7.0.14"))
    assert applies(make_service(port=27018, name="mongod", product=""))
    assert applies(make_service(port=1234, name="unknown", product="MongoDB 6.0 or later"))
    assert not applies(make_service(port=27017, name="mongodb", state="filtered"))
    assert not applies(make_service(port=27017, name="mongodb", protocol="udp"))
    assert not applies(make_service())  # Apache


def test_open_server_reports_its_collections_from_key_names_only(open_server: MongoReplay) -> None:
    found, facts_list = _probe(open_server, _context())
    records = {"store.records": str(ALL_RECORDS)}
    assert_facts(facts_list, {**OPEN_WITH_CUSTOMERS, **PLAINTEXT_ONLY, **records})
    assert found.auth_evidence == "listDatabases answered without credentials (5 databases)"
    # System databases, views and system.* collections are skipped.
    assert [c.name for c in found.containers] == [
        "analytics.page_views",
        "shop.customers",
        "shop.orders",
        "shop.products",
    ]
    customers = found.containers[1]
    assert customers.records == 1250
    assert {"email", "phone", "address.city", "password"} <= {f.name for f in customers.fields}
    # Without --inspect-data no value is read: the server only ever sent key names.
    assert not found.inspected
    assert all(f.sampled == 0 and not f.masked_examples for c in found.containers for f in c.fields)
    assert open_server.commands("find") == []
    aggregates = open_server.commands("aggregate")
    assert len(aggregates) == 4
    assert all(a["pipeline"] == keys_pipeline(SAMPLE) for a in aggregates)
    # Read-only: nothing but reads and the driver's own housekeeping went out.
    sent = {next(iter(c)) for c in open_server.seen}
    assert sent <= {"isMaster", "ismaster", "hello", "listDatabases", "listCollections"} | {
        "count",
        "aggregate",
        "endSessions",
    }


def test_inspection_keeps_masked_examples_and_no_raw_value(open_server: MongoReplay) -> None:
    found, facts_list = _probe(open_server, _context(inspect_data=True))
    assert found.inspected
    finds = open_server.commands("find")
    assert len(finds) == 4
    assert all(f["limit"] == SAMPLE for f in finds)
    email = field(found, "shop.customers", "email")
    assert email.sampled == SAMPLE
    assert personal_data.mask(SAMPLED_EMAIL, personal_data.Category.EMAIL) in email.masked_examples
    password = field(found, "shop.customers", "password")
    assert dict(password.forms) == {"bcrypt": 3, "plaintext": 2}
    assert facts(facts_list)["store.password_storage"] == "plaintext"
    raw = _raw_values()
    assert SAMPLED_EMAIL in raw
    assert_nothing_leaks(observed_text(facts_list) + repr(found), raw)


def test_a_login_is_a_real_scram_sha_256_one(auth_server: MongoReplay, tmp_path: Path) -> None:
    credentials = auditor(tmp_path, "mongodb", ADDRESS, PASSWORD)
    found, _ = _probe(auth_server, _context(credentials=credentials))
    assert found.auth is Auth.SUPPLIED_CREDENTIALS
    assert auth_server.commands("saslContinue")


def test_a_nonsense_database_list_is_unknown() -> None:
    nonsense = {"databases": "all of them", "ok": 1.0}
    with mongodb(ADDRESS, overrides={"listDatabases": nonsense}) as server:
        found, _ = _probe(server, _context())
    assert found.auth is Auth.UNKNOWN
    assert "no list of databases" in found.auth_evidence


def test_bounds_on_containers_and_time(open_server: MongoReplay) -> None:
    few, _ = _probe(open_server, _context(max_containers=2))
    assert [c.name for c in few.containers] == ["analytics.page_views", "shop.customers"]
    assert few.gaps == ("stopped after 2 collections: the size bound (max containers)",)
    # The budget bounds the whole exchange, the login too: spent, nothing is asked.
    none, _ = _probe(open_server, _context(time_budget=0.0))
    assert none.auth is Auth.UNKNOWN
    assert none.auth_evidence == "stopped at the time budget before any login"
    assert none.containers == ()
