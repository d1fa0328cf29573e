"""What the MongoDB and Elasticsearch probes both promise, each against its
replay server: the user's credentials log in and stay out of the report, a
wrong password and the vendor defaults leave the store locked, a TLS-only
server is read over TLS, and a server that is not the store (or not there)
is unknown, never an error."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.datastores import elasticsearch, mongodb
from scanner.probes.datastores.report import Auth
from tests.factories import make_service
from tests.scanner.probes import replay
from tests.scanner.probes.outcomes import (
    TLS_ONLY,
    assert_facts,
    assert_kept_out,
    auditor,
    evidence,
    reported,
    run_without_error,
)
from tests.scanner.probes.peers import Report, closed_port

PASSWORD = "Tr0ub4dor&3-docs-test"  # noqa: S105  # a test password no reply may let out


@dataclass(frozen=True)
class Store:
    name: str
    address: str
    spec: ProbeSpec
    report: Report
    replay: Callable[..., AbstractContextManager[Any]]
    secured: dict[str, Any]  # replay options: a login needed, user auditor with PASSWORD
    # How the store said no without credentials, then to a wrong password and to
    # a vendor default (whose user is `vendor_user`).
    unauthenticated: str
    wrong_password: str
    vendor_user: str
    vendor_refused: str
    read_past_login: Callable[[Any], bool]  # the replay saw more than a login
    not_the_store: dict[str, Any] = field(default_factory=dict)  # replay options
    service: dict[str, str] = field(default_factory=dict)  # what nmap calls the store
    unanswered: str = ""  # how a report on a server that is not the store begins
    tls_only: str = ""  # a pattern for the TLS evidence of a TLS-only server


MONGODB = Store(
    "mongodb",
    "127.0.50.2",
    mongodb.SPEC,
    mongodb.report,
    replay.mongodb,
    {"auth": True, "users": {("admin", "auditor"): PASSWORD}},
    "listDatabases without credentials: Unauthorized (13): "
    "command listDatabases requires authentication",
    "AuthenticationFailed (18)",
    "admin",
    "AuthenticationFailed (18)",
    lambda server: bool(server.commands("listCollections")),
    {"garbage": b"HTTP/1.1 400 Bad Request\r\n\r\nnot mongo\n"},
    {"name": "mongodb"},
    "no MongoDB answer: a plaintext isMaster got an answer",
    r"TLS handshake completed \(TLSv1\.\d\); "
    r"a plaintext isMaster got no reply \(the server hung up\)",
)
ELASTICSEARCH = Store(
    "elasticsearch",
    "127.0.50.22",
    elasticsearch.SPEC,
    elasticsearch.report,
    replay.elasticsearch,
    {"users": {"auditor": PASSWORD}},
    "GET /_cat/indices without credentials: 401 security_exception: missing "
    "authentication credentials for REST request [/_cat/indices?format=json&bytes=b]",
    "401 security_exception: unable to authenticate user [auditor]",
    "elastic",
    "401 security_exception",
    lambda server: any(path.endswith("/_mapping") for path in server.paths()),
    {"garbage": b"\x00\x01garbage\xff" * 10},
    {"product": "Elasticsearch REST API"},
    "no HTTP answer: ",
    re.escape("https GET /: HTTP 200; http GET /: the server hung up without a reply"),
)
each_store = pytest.mark.parametrize("store", [MONGODB, ELASTICSEARCH], ids=lambda s: s.name)


def _context(**overrides: Any) -> ProbeContext:
    return ProbeContext(**{"timeout": 2.0, "sample_size": 5, **overrides})


@each_store
def test_supplied_credentials_log_in_and_the_password_stays_out(
    store: Store, tmp_path: Path
) -> None:
    ctx = _context(credentials=auditor(tmp_path, store.name, store.address, PASSWORD))
    with store.replay(store.address, **store.secured) as server:
        found, facts = reported(store.report, store.address, server.port, ctx)
    assert_facts(facts, {"store.auth": "supplied-credentials", "store.pii.email": "1250"})
    assert found.identity == "auditor"
    assert found.auth_evidence == (
        f"{store.unauthenticated}; user auditor from your credentials file was accepted"
    )
    assert store.read_past_login(server)
    assert_kept_out(PASSWORD, found, facts)


@each_store
def test_wrong_password_and_vendor_defaults_leave_auth_required(
    store: Store, tmp_path: Path
) -> None:
    wrong = auditor(tmp_path, store.name, store.address, "not-the-password")
    ctx = _context(credentials=wrong, try_default_credentials=True)
    with store.replay(store.address, **store.secured) as server:
        found, facts = reported(store.report, store.address, server.port, ctx)
    assert_facts(facts, {"store.auth": "required", "store.personal_data": None})
    said = found.auth_evidence
    assert f"user auditor from your credentials file: {store.wrong_password}" in said
    assert f"user {store.vendor_user} from a vendor default: {store.vendor_refused}" in said
    assert_kept_out("not-the-password", found, facts)
    assert not store.read_past_login(server)


@each_store
def test_no_credentials_at_all_leave_auth_required(store: Store) -> None:
    with store.replay(store.address, **store.secured) as server:
        found = store.report(store.address, server.port, _context())
    assert (found.auth, found.plaintext_allowed.value, found.containers) == (
        Auth.REQUIRED,
        "yes",
        (),
    )


@each_store
def test_a_server_that_is_not_the_store_is_unknown_not_an_error(store: Store) -> None:
    with store.replay(store.address, **store.not_the_store) as server:
        service = make_service(port=server.port, **store.service)
        ran = run_without_error(store.spec, store.address, service, _context())
    assert_facts(ran, {"store.auth": "unknown", "store.plaintext_allowed": "unknown"})
    assert evidence(ran, "store.auth").startswith(store.unanswered)


@each_store
def test_a_refused_connection_is_unknown(store: Store) -> None:
    found = store.report(store.address, closed_port(store.address), _context())
    assert found.auth is Auth.UNKNOWN
    assert (found.tls_offered.value, found.plaintext_allowed.value) == ("unknown", "unknown")
    assert "refused" in found.auth_evidence.lower()


@each_store
def test_a_tls_only_server_is_read_over_tls(store: Store, tmp_path: Path) -> None:
    tls = replay.server_tls(tmp_path, store.address)
    with store.replay(store.address, tls=tls) as server:
        found, facts = reported(store.report, store.address, server.port, _context())
    assert_facts(facts, {**replay.OPEN_WITH_CUSTOMERS, **TLS_ONLY})
    assert re.fullmatch(store.tls_only, found.tls_evidence), found.tls_evidence
