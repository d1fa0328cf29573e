"""The MongoDB probe against a replay of recorded mongod replies (no MongoDB in Debian)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bson import json_util

from fixtures.datastores.servers import Unavailable, make_certificate
from scanner import pii
from scanner.credentials import load_credentials
from scanner.model import Observation
from scanner.probes import ProbeContext, run_probes
from scanner.probes.mongodb import SPEC, applies, keys_pipeline, report
from scanner.probes.store_report import Auth, StoreReport, observations
from tests.factories import make_host, make_service
from tests.scanner.probes.replay import MONGODB_FIXTURES, MongoReplay, mongodb, server_tls

ADDRESS = "127.0.50.1"
PASSWORD = "Tr0ub4dor&3-mongo-test"  # noqa: S105  # a test password no reply may let out
USERS = {("admin", "auditor"): PASSWORD}
SAMPLE = 5
# Seeded in find.json: 1250 customers, 4800 orders, 40 products, 52000 page views.
ALL_RECORDS = 1250 + 4800 + 40 + 52000


def _context(**overrides: Any) -> ProbeContext:
    fields: dict[str, Any] = {"timeout": 2.0, "sample_size": SAMPLE}
    fields.update(overrides)
    return ProbeContext(**fields)


def _facts(found: tuple[Observation, ...]) -> dict[str, str]:
    return {o.key: o.value for o in found}


def _text(found: tuple[Observation, ...]) -> str:
    return "\n".join(f"{o.key} {o.value} {o.evidence}" for o in found)


def _raw_values() -> set[str]:
    """Every string value in the recorded documents (long enough not to be a word)."""
    values: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and len(node) >= 5:
            values.add(node)

    for exchange in json_util.loads((MONGODB_FIXTURES / "find.json").read_text())["exchanges"]:
        walk(exchange["reply"]["cursor"]["firstBatch"])
    return values


def _credentials_file(tmp_path: Path, password: str = PASSWORD) -> Path:
    path = tmp_path / "credentials.yaml"
    path.write_text(
        "credentials:\n"
        "  - store: mongodb\n"
        f"    host: {ADDRESS}\n"
        "    username: auditor\n"
        f"    password: {password!r}\n"
    )
    return path


def _probe(server: MongoReplay, ctx: ProbeContext) -> tuple[StoreReport, tuple[Observation, ...]]:
    found = report(ADDRESS, server.port, ctx)
    return found, observations(found, ADDRESS, server.port)


@pytest.fixture
def open_server() -> Iterator[MongoReplay]:
    with mongodb(ADDRESS) as server:
        yield server


@pytest.fixture
def auth_server() -> Iterator[MongoReplay]:
    with mongodb(ADDRESS, auth=True, users=USERS) as server:
        yield server


@pytest.fixture(scope="module")
def tls_only(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    try:
        certificate = make_certificate(tmp_path_factory.mktemp("tls"), [ADDRESS])
    except Unavailable as exc:
        pytest.skip(str(exc))
    return server_tls(certificate.cert, certificate.key)


def test_applies_to_what_nmap_calls_mongodb() -> None:
    assert applies(make_service(port=27017, name="mongodb", product="MongoDB", version="7.0.14"))
    assert applies(make_service(port=27018, name="mongod", product=""))
    assert applies(make_service(port=1234, name="unknown", product="MongoDB 6.0 or later"))
    assert not applies(make_service(port=27017, name="mongodb", state="filtered"))
    assert not applies(make_service(port=27017, name="mongodb", protocol="udp"))
    assert not applies(make_service())  # Apache


def test_open_server_reports_its_collections_from_key_names_only(open_server: MongoReplay) -> None:
    found, facts_list = _probe(open_server, _context())
    facts = _facts(facts_list)
    assert facts["store.auth"] == "none"
    assert facts["store.tls_offered"] == "no"
    assert facts["store.plaintext_allowed"] == "yes"
    assert facts["store.personal_data"] == "yes"
    assert facts["store.pii.email"] == "1250"
    assert facts["store.records"] == str(ALL_RECORDS)
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
    customers = next(c for c in found.containers if c.name == "shop.customers")
    email = next(f for f in customers.fields if f.name == "email")
    assert email.sampled == SAMPLE
    assert pii.mask("amelia.drummond@example.com", pii.Category.EMAIL) in email.masked_examples
    password = next(f for f in customers.fields if f.name == "password")
    assert dict(password.forms) == {"bcrypt": 3, "plaintext": 2}
    assert _facts(facts_list)["store.password_storage"] == "plaintext"
    raw = _raw_values()
    assert "amelia.drummond@example.com" in raw
    text, whole = _text(facts_list), repr(found)
    leaked = sorted(v for v in raw if v in text or v in whole)
    assert leaked == []


def test_supplied_credentials_log_in_and_the_password_stays_out(
    auth_server: MongoReplay, tmp_path: Path
) -> None:
    credentials = load_credentials(_credentials_file(tmp_path))
    found, facts_list = _probe(auth_server, _context(credentials=credentials))
    facts = _facts(facts_list)
    assert facts["store.auth"] == "supplied-credentials"
    assert facts["store.pii.email"] == "1250"
    assert found.identity == "auditor"
    assert found.auth_evidence.startswith(
        "listDatabases without credentials: Unauthorized (13): "
        "command listDatabases requires authentication; "
    )
    assert found.auth_evidence.endswith("user auditor from your credentials file was accepted")
    assert auth_server.commands("saslContinue")  # a real SCRAM-SHA-256 login
    assert PASSWORD not in _text(facts_list)
    assert PASSWORD not in repr(found)


def test_wrong_password_and_vendor_defaults_leave_auth_required(
    auth_server: MongoReplay, tmp_path: Path
) -> None:
    credentials = load_credentials(_credentials_file(tmp_path, "not-the-password"))
    ctx = _context(credentials=credentials, try_default_credentials=True)
    found, facts_list = _probe(auth_server, ctx)
    facts = _facts(facts_list)
    assert facts["store.auth"] == "required"
    assert "store.personal_data" not in facts
    evidence = found.auth_evidence
    assert "user auditor from your credentials file: AuthenticationFailed (18)" in evidence
    assert "user admin from a vendor default: AuthenticationFailed (18)" in evidence
    assert "not-the-password" not in _text(facts_list)
    # Nothing past the login was read.
    assert auth_server.commands("listCollections") == []


def test_no_credentials_at_all_is_auth_required(auth_server: MongoReplay) -> None:
    found, _ = _probe(auth_server, _context())
    assert found.auth is Auth.REQUIRED
    assert found.plaintext_allowed.value == "yes"
    assert found.containers == ()


def test_a_server_that_is_not_mongodb_is_unknown_not_an_error() -> None:
    with mongodb(ADDRESS, garbage=b"HTTP/1.1 400 Bad Request\r\n\r\nnot mongo\n") as server:
        found, facts_list = _probe(server, _context())
        host = make_host(
            address=ADDRESS, services=(make_service(port=server.port, name="mongodb"),)
        )
        ran, errors = run_probes([host], _context(), {"mongodb": SPEC})
    assert found.auth is Auth.UNKNOWN
    assert found.auth_evidence.startswith("no MongoDB answer: a plaintext isMaster got an answer")
    assert _facts(facts_list)["store.plaintext_allowed"] == "unknown"
    assert errors == ()
    assert _facts(ran)["store.auth"] == "unknown"


def test_a_nonsense_database_list_is_unknown() -> None:
    nonsense = {"databases": "all of them", "ok": 1.0}
    with mongodb(ADDRESS, overrides={"listDatabases": nonsense}) as server:
        found, _ = _probe(server, _context())
    assert found.auth is Auth.UNKNOWN
    assert "no list of databases" in found.auth_evidence


def test_a_refused_connection_is_unknown() -> None:
    with socket.create_server((ADDRESS, 0)) as placeholder:
        port = placeholder.getsockname()[1]
    found = report(ADDRESS, port, _context())
    assert found.auth is Auth.UNKNOWN
    assert found.tls_offered.value == "unknown"
    assert "refused" in found.auth_evidence.lower()


def test_bounds_on_containers_and_time(open_server: MongoReplay) -> None:
    few, _ = _probe(open_server, _context(max_containers=2))
    assert [c.name for c in few.containers] == ["analytics.page_views", "shop.customers"]
    assert few.gaps == ("stopped after 2 collections: the size bound (max containers)",)
    none, _ = _probe(open_server, _context(time_budget=0.0))
    assert none.auth is Auth.NONE
    assert none.containers == ()
    assert none.gaps == ("stopped after 0 collections: the probe's time budget",)


def test_a_tls_only_server_is_read_over_tls(tls_only: ssl.SSLContext) -> None:
    with mongodb(ADDRESS, tls=tls_only) as server:
        found, facts_list = _probe(server, _context())
    facts = _facts(facts_list)
    assert (facts["store.tls_offered"], facts["store.plaintext_allowed"]) == ("yes", "no")
    assert found.tls_evidence.startswith("TLS handshake completed (TLSv1.")
    assert found.tls_evidence.endswith("a plaintext isMaster got no reply (the server hung up)")
    assert facts["store.auth"] == "none"
    assert facts["store.pii.email"] == "1250"
