"""The Elasticsearch probe against recorded REST replies (no Elasticsearch in Debian)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from scanner.probes import personal_data
from scanner.probes.context import ProbeContext
from scanner.probes.datastores.elasticsearch import SPEC, applies, report
from scanner.probes.datastores.report import Auth, StoreReport
from tests.factories import make_service
from tests.scanner.probes.outcomes import (
    PLAINTEXT_ONLY,
    Observations,
    assert_facts,
    assert_nothing_leaks,
    auditor,
    field,
    observed_text,
    reported,
    run_without_error,
    strings_in,
)
from tests.scanner.probes.peers import drip, fake
from tests.scanner.probes.replay import (
    ELASTICSEARCH_FIXTURES,
    OPEN_WITH_CUSTOMERS,
    SAMPLED_EMAIL,
    ElasticsearchReplay,
    Response,
    elasticsearch,
    replay_fixture,
)

ADDRESS = "127.0.50.21"
PASSWORD = "c0rrect-H0rse-es-test"  # noqa: S105  # a test password no reply may let out
SAMPLE = 5
# docs.count in cat_indices.json; the closed archive index has none.
ALL_RECORDS = 1250 + 4800 + 73000


def _context(**overrides: Any) -> ProbeContext:
    return ProbeContext(**{"timeout": 2.0, "sample_size": SAMPLE, **overrides})


def _raw_values() -> set[str]:
    """Every string in the recorded documents' _source."""
    search = json.loads((ELASTICSEARCH_FIXTURES / "search.json").read_text())
    return strings_in(
        [
            hit["_source"]
            for exchange in search["exchanges"]
            for hit in exchange["response"]["body"].get("hits", {}).get("hits", [])
        ]
    )


def _probe(server: ElasticsearchReplay, ctx: ProbeContext) -> tuple[StoreReport, Observations]:
    return reported(report, ADDRESS, server.port, ctx)


open_server = replay_fixture(elasticsearch, ADDRESS)
auth_server = replay_fixture(elasticsearch, ADDRESS, users={"auditor": PASSWORD})


def test_applies_to_what_nmap_calls_elasticsearch() -> None:
    assert applies(make_service(port=9200, name="http", product="Elasticsearch REST API"))
    assert applies(make_service(port=9201, name="elasticsearch", product=""))
    assert not applies(make_service(port=9200, name="http", product="nginx"))
    assert not applies(
        make_service(port=9200, name="http", product="Elasticsearch REST API", state="closed")
    )


def test_open_node_reports_indices_from_mappings_only(open_server: ElasticsearchReplay) -> None:
    found, facts_list = _probe(open_server, _context())
    records = {"store.records": str(ALL_RECORDS)}
    assert_facts(facts_list, {**OPEN_WITH_CUSTOMERS, **PLAINTEXT_ONLY, **records})
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
    email = field(found, "customers", "email")
    assert email.sampled == SAMPLE
    assert personal_data.mask(SAMPLED_EMAIL, personal_data.Category.EMAIL) in email.masked_examples
    city = field(found, "customers", "address.city")
    assert city.sampled == SAMPLE
    # The closed index keeps its mapped names; its search failing is a gap.
    archive = next(c for c in found.containers if c.name == "archive-2023")
    assert [f.name for f in archive.fields] == ["kind", "payload"]
    assert found.gaps == ("archive-2023: _search: 400 index_closed_exception: closed",)
    raw = _raw_values()
    assert SAMPLED_EMAIL in raw
    assert_nothing_leaks(observed_text(facts_list) + repr(found), raw)


def test_a_secured_node_is_read_with_the_users_credentials(
    auth_server: ElasticsearchReplay, tmp_path: Path
) -> None:
    credentials = auditor(tmp_path, "elasticsearch", ADDRESS, PASSWORD)
    found, _ = _probe(auth_server, _context(credentials=credentials))
    assert found.tls_evidence == "https GET /: no TLS handshake; http GET /: HTTP 401"
    assert {s.user for s in auth_server.seen if s.path.endswith("/_mapping")} == {"auditor"}


def test_a_password_echoed_by_a_hostile_node_is_blanked(tmp_path: Path) -> None:
    echoed = json.dumps(
        [{"index": f"leak-{PASSWORD}", "docs.count": "1"}, {"index": "customers"}]
    ).encode()
    overrides = {"/_cat/indices": Response(200, echoed)}
    with elasticsearch(ADDRESS, users={"auditor": PASSWORD}, overrides=overrides) as server:
        credentials = auditor(tmp_path, "elasticsearch", ADDRESS, PASSWORD)
        # The runner blanks it, as a scan runs the probe.
        service = make_service(port=server.port, name="http", product="Elasticsearch REST API")
        found = run_without_error(SPEC, ADDRESS, service, _context(credentials=credentials))
    shown = observed_text(found)
    assert "leak-***" in shown
    assert PASSWORD not in shown


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


def test_the_size_bound_on_indices(open_server: ElasticsearchReplay) -> None:
    found, _ = _probe(open_server, _context(max_containers=2))
    assert [c.name for c in found.containers] == ["app-logs-2024.11", "archive-2023"]
    assert found.gaps == ("2 more indices not read: the size bound (max containers)",)


def test_a_node_dripping_its_headers_is_cut_off_at_the_time_budget() -> None:
    def dripping(conn: socket.socket) -> None:
        conn.recv(4096)  # the request
        drip(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 999)

    with fake(dripping) as peer:
        started = time.monotonic()
        found, _ = reported(report, peer.address, peer.port, _context(timeout=5.0, time_budget=3.0))
        elapsed = time.monotonic() - started
    assert found.auth is Auth.UNKNOWN
    assert "the probe's time budget ran out mid-reply" in found.tls_evidence
    assert elapsed < 30  # generous: the budget is 3 s, the drip would take minutes
