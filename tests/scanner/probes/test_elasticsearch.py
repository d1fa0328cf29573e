"""The Elasticsearch probe against recorded REST replies (no Elasticsearch in Debian)."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.datastores.servers import Unavailable, make_certificate
from scanner import pii
from scanner.credentials import load_credentials
from scanner.model import Observation
from scanner.probes import ProbeContext, run_probes
from scanner.probes.elasticsearch import SPEC, applies, report
from scanner.probes.store_report import Auth, StoreReport, observations
from tests.factories import make_host, make_service
from tests.scanner.probes.replay import (
    ELASTICSEARCH_FIXTURES,
    ElasticsearchReplay,
    Response,
    elasticsearch,
    server_tls,
)

ADDRESS = "127.0.50.21"
PASSWORD = "c0rrect-H0rse-es-test"  # noqa: S105  # a test password no reply may let out
SAMPLE = 5
# docs.count in cat_indices.json; the closed archive index has none.
ALL_RECORDS = 1250 + 4800 + 73000


def _context(**overrides: Any) -> ProbeContext:
    fields: dict[str, Any] = {"timeout": 2.0, "sample_size": SAMPLE}
    fields.update(overrides)
    return ProbeContext(**fields)


def _facts(found: tuple[Observation, ...]) -> dict[str, str]:
    return {o.key: o.value for o in found}


def _text(found: tuple[Observation, ...]) -> str:
    return "\n".join(f"{o.key} {o.value} {o.evidence}" for o in found)


def _raw_values() -> set[str]:
    """Every string in the recorded documents' _source (long enough not to be a word)."""
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

    search = json.loads((ELASTICSEARCH_FIXTURES / "search.json").read_text())
    for exchange in search["exchanges"]:
        for hit in exchange["response"]["body"].get("hits", {}).get("hits", []):
            walk(hit["_source"])
    return values


def _credentials_file(tmp_path: Path, password: str = PASSWORD) -> Path:
    path = tmp_path / "credentials.yaml"
    path.write_text(
        "credentials:\n"
        "  - store: elasticsearch\n"
        f"    host: {ADDRESS}\n"
        "    username: auditor\n"
        f"    password: {password!r}\n"
    )
    return path


def _probe(
    server: ElasticsearchReplay, ctx: ProbeContext
) -> tuple[StoreReport, tuple[Observation, ...]]:
    found = report(ADDRESS, server.port, ctx)
    return found, observations(found, ADDRESS, server.port)


@pytest.fixture
def open_server() -> Iterator[ElasticsearchReplay]:
    with elasticsearch(ADDRESS) as server:
        yield server


@pytest.fixture
def auth_server() -> Iterator[ElasticsearchReplay]:
    with elasticsearch(ADDRESS, users={"auditor": PASSWORD}) as server:
        yield server


@pytest.fixture(scope="module")
def tls_only(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    try:
        certificate = make_certificate(tmp_path_factory.mktemp("tls"), [ADDRESS])
    except Unavailable as exc:
        pytest.skip(str(exc))
    return server_tls(certificate.cert, certificate.key)


def test_applies_to_what_nmap_calls_elasticsearch() -> None:
    assert applies(make_service(port=9200, name="http", product="Elasticsearch REST API"))
    assert applies(make_service(port=9201, name="elasticsearch", product=""))
    assert not applies(make_service(port=9200, name="http", product="nginx"))
    assert not applies(
        make_service(port=9200, name="http", product="Elasticsearch REST API", state="closed")
    )


def test_open_node_reports_indices_from_mappings_only(open_server: ElasticsearchReplay) -> None:
    found, facts_list = _probe(open_server, _context())
    facts = _facts(facts_list)
    assert facts["store.auth"] == "none"
    assert facts["store.tls_offered"] == "no"
    assert facts["store.plaintext_allowed"] == "yes"
    assert facts["store.personal_data"] == "yes"
    assert facts["store.pii.email"] == "1250"
    assert facts["store.records"] == str(ALL_RECORDS)
    assert found.auth_evidence == "GET /_cat/indices answered without credentials (5 indices)"
    assert found.tls_evidence == "https GET /: no TLS handshake; http GET /: HTTP 200"
    # The dot-prefixed .kibana index is Kibana's own and is skipped.
    assert [(c.name, c.records) for c in found.containers] == [
        ("app-logs-2024.11", 73000),
        ("archive-2023", None),
        ("customers", 1250),
        ("orders", 4800),
    ]
    customers = found.containers[2]
    assert {"email", "address", "address.city", "password_hash"} <= {
        f.name for f in customers.fields
    }
    # Without --inspect-data no document is fetched.
    assert not any(path.endswith("/_search") for path in open_server.paths())
    assert all(f.sampled == 0 and not f.masked_examples for c in found.containers for f in c.fields)
    cat = next(s for s in open_server.seen if s.path == "/_cat/indices")
    assert cat.query == {"format": ["json"], "bytes": ["b"]}


def test_inspection_keeps_masked_examples_and_no_raw_value(
    open_server: ElasticsearchReplay,
) -> None:
    found, facts_list = _probe(open_server, _context(inspect_data=True))
    assert found.inspected
    searches = [s for s in open_server.seen if s.path.endswith("/_search")]
    assert len(searches) == 4
    assert all(s.query == {"size": [str(SAMPLE)]} for s in searches)
    customers = next(c for c in found.containers if c.name == "customers")
    email = next(f for f in customers.fields if f.name == "email")
    assert email.sampled == SAMPLE
    assert pii.mask("amelia.drummond@example.com", pii.Category.EMAIL) in email.masked_examples
    city = next(f for f in customers.fields if f.name == "address.city")
    assert city.sampled == SAMPLE
    # The closed index keeps its mapped names; its search failing is a gap.
    archive = next(c for c in found.containers if c.name == "archive-2023")
    assert [f.name for f in archive.fields] == ["kind", "payload"]
    assert found.gaps == ("archive-2023: _search: 400 index_closed_exception: closed",)
    raw = _raw_values()
    assert "amelia.drummond@example.com" in raw
    text, whole = _text(facts_list), repr(found)
    assert sorted(v for v in raw if v in text or v in whole) == []


def test_supplied_credentials_log_in_and_the_password_stays_out(
    auth_server: ElasticsearchReplay, tmp_path: Path
) -> None:
    credentials = load_credentials(_credentials_file(tmp_path))
    found, facts_list = _probe(auth_server, _context(credentials=credentials))
    facts = _facts(facts_list)
    assert facts["store.auth"] == "supplied-credentials"
    assert facts["store.pii.email"] == "1250"
    assert found.identity == "auditor"
    assert found.auth_evidence == (
        "GET /_cat/indices without credentials: 401 security_exception: missing "
        "authentication credentials for REST request [/_cat/indices?format=json&bytes=b]; "
        "user auditor from your credentials file was accepted"
    )
    assert found.tls_evidence == "https GET /: no TLS handshake; http GET /: HTTP 401"
    assert {s.user for s in auth_server.seen if s.path.endswith("/_mapping")} == {"auditor"}
    assert PASSWORD not in _text(facts_list)
    assert PASSWORD not in repr(found)


def test_wrong_password_and_vendor_defaults_leave_auth_required(
    auth_server: ElasticsearchReplay, tmp_path: Path
) -> None:
    credentials = load_credentials(_credentials_file(tmp_path, "not-the-password"))
    ctx = _context(credentials=credentials, try_default_credentials=True)
    found, facts_list = _probe(auth_server, ctx)
    assert _facts(facts_list)["store.auth"] == "required"
    evidence = found.auth_evidence
    assert (
        "user auditor from your credentials file: 401 security_exception: "
        "unable to authenticate user [auditor]" in evidence
    )
    assert "user elastic from a vendor default: 401 security_exception" in evidence
    assert "not-the-password" not in _text(facts_list)
    assert not any(path.endswith("/_mapping") for path in auth_server.paths())


def test_a_password_echoed_by_a_hostile_node_is_blanked(tmp_path: Path) -> None:
    echoed = json.dumps(
        [{"index": f"leak-{PASSWORD}", "docs.count": "1"}, {"index": "customers"}]
    ).encode()
    overrides = {"/_cat/indices": Response(200, echoed)}
    with elasticsearch(ADDRESS, users={"auditor": PASSWORD}, overrides=overrides) as server:
        credentials = load_credentials(_credentials_file(tmp_path))
        found, facts_list = _probe(server, _context(credentials=credentials))
    assert [c.name for c in found.containers] == ["customers", "leak-***"]
    assert PASSWORD not in _text(facts_list)
    assert PASSWORD not in repr(found)


def test_a_node_that_is_not_http_is_unknown_not_an_error() -> None:
    with elasticsearch(ADDRESS, garbage=b"\x00\x01garbage\xff" * 10) as server:
        found, facts_list = _probe(server, _context())
        host = make_host(
            address=ADDRESS,
            services=(make_service(port=server.port, product="Elasticsearch REST API"),),
        )
        ran, errors = run_probes([host], _context(), {"elasticsearch": SPEC})
    assert found.auth is Auth.UNKNOWN
    assert found.auth_evidence.startswith("no HTTP answer: ")
    assert _facts(facts_list)["store.plaintext_allowed"] == "unknown"
    assert errors == ()
    assert _facts(ran)["store.auth"] == "unknown"


@pytest.mark.parametrize(
    ("response", "said"),
    [
        (Response(200, b"<html>not json</html>"), "HTTP 200 with a body that is not JSON"),
        (Response(200, b'{"indices": []}'), "the _cat/indices reply is not a JSON list"),
        (Response(200, b"[" * 100_000), "HTTP 200 with a body that is not JSON"),
        (Response(200, b"[]" + b" " * 2_000_000), "over the 1048576-byte cap"),
    ],
)
def test_nonsense_index_lists_are_unknown(response: Response, said: str) -> None:
    with elasticsearch(ADDRESS, overrides={"/_cat/indices": response}) as server:
        found, _ = _probe(server, _context())
    assert found.auth is Auth.UNKNOWN
    assert said in found.auth_evidence


def test_redirects_are_not_followed() -> None:
    moved = Response(302, b"", (("Location", "/elsewhere"),))
    with elasticsearch(ADDRESS, overrides={"/": moved}) as server:
        found, _ = _probe(server, _context())
    assert found.auth is Auth.UNKNOWN
    assert found.auth_evidence.startswith("GET / is not Elasticsearch's reply: HTTP 302")
    assert "/elsewhere" not in server.paths()


def test_a_refused_connection_is_unknown() -> None:
    with socket.create_server((ADDRESS, 0)) as placeholder:
        port = placeholder.getsockname()[1]
    found = report(ADDRESS, port, _context())
    assert found.auth is Auth.UNKNOWN
    assert (found.tls_offered.value, found.plaintext_allowed.value) == ("unknown", "unknown")
    assert "refused" in found.auth_evidence.lower()


def test_the_size_bound_on_indices(open_server: ElasticsearchReplay) -> None:
    found, _ = _probe(open_server, _context(max_containers=2))
    assert [c.name for c in found.containers] == ["app-logs-2024.11", "archive-2023"]
    assert found.gaps == ("2 more indices not read: the size bound (max containers)",)


def test_an_https_only_node_is_read_over_tls(tls_only: ssl.SSLContext) -> None:
    with elasticsearch(ADDRESS, tls=tls_only) as server:
        found, facts_list = _probe(server, _context())
    facts = _facts(facts_list)
    assert (facts["store.tls_offered"], facts["store.plaintext_allowed"]) == ("yes", "no")
    assert found.tls_evidence == (
        "https GET /: HTTP 200; http GET /: the server hung up without a reply"
    )
    assert facts["store.auth"] == "none"
    assert facts["store.pii.email"] == "1250"
