"""Elasticsearch: does its REST API answer without credentials, does it offer
TLS, and which indices hold personal data (and how many documents, by
`_cat/indices`).

Plain HTTP with `requests`, GET only: `/`, `/_cat/indices`, `/<index>/_mapping`,
and `/<index>/_search?size=N` only when `--inspect-data` asks for values,
which go straight to the personal-data detectors and are masked there.
Every reply is read with a byte cap, no redirect is followed, and the
environment's proxies and `~/.netrc` are ignored (`elasticsearch_http`), so
no credential is sent that the user did not name for this store.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from scanner.model import Host, Observation, Service
from scanner.probes.clients.elasticsearch import (
    Garbage,
    Http,
    HttpFailure,
    Reply,
    basic,
    error_of,
    http_session,
    parse_json,
)
from scanner.probes.clients.wire import Deadline, Watchdog, bracketed
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.documents import (
    MAX_DEPTH,
    MAX_FIELDS,
    NAME_CHARS,
    Fields,
    field_name,
    flatten,
    summarise,
)
from scanner.probes.datastores.logins import auth_for, credentials
from scanner.probes.datastores.report import (
    Auth,
    Container,
    StoreReport,
    Tristate,
    observations,
)
from scanner.probes.datastores.transport import Transport
from scanner.probes.evidence import printable

STORE = "elasticsearch"


def applies(service: Service) -> bool:
    # nmap names the service "http", product "Elasticsearch REST API".
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.product.startswith("Elasticsearch") or service.name == "elasticsearch")
    )


# --- transport --------------------------------------------------------------


def _root(http: Http) -> Reply | HttpFailure:
    try:
        return http.get("/")
    except HttpFailure as exc:
        return exc


def _shown(outcome: Reply | HttpFailure) -> str:
    if isinstance(outcome, Reply):
        return f"HTTP {outcome.status}"
    return "no TLS handshake" if outcome.tls_error else outcome.reason


def _tls_state(secure: Reply | HttpFailure, plain: Reply | HttpFailure) -> Tristate:
    if isinstance(secure, Reply):
        return Tristate.YES
    # One port speaks one of the two: a plaintext answer means no TLS there.
    if secure.tls_error or isinstance(plain, Reply):
        return Tristate.NO
    return Tristate.UNKNOWN


def _plaintext_state(secure: Reply | HttpFailure, plain: Reply | HttpFailure) -> Tristate:
    if isinstance(plain, Reply):
        return Tristate.YES
    return Tristate.NO if isinstance(secure, Reply) else Tristate.UNKNOWN


def _looks_like_elasticsearch(reply: Reply) -> bool:
    if reply.status in (401, 403):
        return True  # security on: the root needs the monitor privilege
    try:
        document = parse_json(reply)
    except Garbage:
        return False
    return reply.status == 200 and isinstance(document, dict) and "version" in document


# --- login --------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    http: Http | None
    auth: Auth
    evidence: str
    identity: str = ""
    indices: tuple[tuple[str, int | None], ...] = ()
    gaps: tuple[str, ...] = ()


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None  # a closed index has no count


def parse_indices(reply: Reply) -> tuple[tuple[str, int | None], ...]:
    rows = parse_json(reply)
    if not isinstance(rows, list):
        raise Garbage("the _cat/indices reply is not a JSON list")
    return tuple(
        (row["index"], _count(row.get("docs.count")))
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("index"), str)
    )


def _cat_indices(http: Http) -> Reply:
    return http.get("/_cat/indices", {"format": "json", "bytes": "b"})


def _with_credential(http: Http, credential: StoreCredential) -> Login | str:
    authed = replace(http, authorization=basic(credential))
    try:
        reply = _cat_indices(authed)
        if reply.status == 401:
            return f"{credential.label}: {error_of(reply)}"
        auth = auth_for(credential)
        accepted = f"{credential.label} was accepted"
        if reply.status == 200:
            indices = parse_indices(reply)
            return Login(authed, auth, accepted, credential.username, indices)
        if reply.status == 403:  # logged in, but this role may not list indices
            gap = f"{credential.username} may not list indices: {error_of(reply)}"
            return Login(authed, auth, accepted, credential.username, gaps=(gap,))
        return f"{credential.label}: {error_of(reply)}"
    except HttpFailure as exc:
        return f"{credential.label}: {exc.reason}"
    except Garbage as exc:
        return f"{credential.label}: {exc}"


def login(http: Http, address: str, port: int, ctx: ProbeContext) -> Login:
    try:
        reply = _cat_indices(http)
        if reply.status == 200:
            indices = parse_indices(reply)
            evidence = f"GET /_cat/indices answered without credentials ({len(indices)} indices)"
            return Login(http, Auth.NONE, evidence, indices=indices)
    except (HttpFailure, Garbage) as exc:
        reason = exc.reason if isinstance(exc, HttpFailure) else str(exc)
        return Login(None, Auth.UNKNOWN, f"GET /_cat/indices without credentials: {reason}")
    tried = [f"without credentials: {error_of(reply)}"]
    if reply.status not in (401, 403):
        return Login(None, Auth.UNKNOWN, f"GET /_cat/indices {tried[0]}")
    for credential in credentials(STORE, address, port, ctx):
        outcome = _with_credential(http, credential)
        if isinstance(outcome, Login):
            return replace(outcome, evidence=f"GET /_cat/indices {tried[0]}; {outcome.evidence}")
        tried.append(outcome)
    return Login(None, Auth.REQUIRED, "GET /_cat/indices " + "; ".join(tried))


# --- inventory ------------------------------------------------------------------


def _properties_into(properties: object, prefix: str, depth: int, names: list[str]) -> None:
    if not isinstance(properties, Mapping):
        return
    for key, spec in properties.items():
        if len(names) >= MAX_FIELDS:
            return
        name = field_name(prefix, key)
        names.append(name)
        if depth < MAX_DEPTH and isinstance(spec, Mapping):
            _properties_into(spec.get("properties"), name + ".", depth + 1, names)


def mapping_names(document: object) -> list[str]:
    """Field names from a `_mapping` reply: `{index: {mappings: {properties}}}`,
    or before 7.0 one level more, `{index: {mappings: {<type>: {properties}}}}`."""
    names: list[str] = []
    if not isinstance(document, Mapping):
        raise Garbage("the _mapping reply is not a JSON object")
    for index in document.values():
        mappings = index.get("mappings") if isinstance(index, Mapping) else None
        if not isinstance(mappings, Mapping):
            continue
        typed = [mappings] if "properties" in mappings else list(mappings.values())
        for mapping in typed:
            if isinstance(mapping, Mapping):
                _properties_into(mapping.get("properties"), "", 1, names)
    return list(dict.fromkeys(names))


def _sources(reply: Reply) -> list[Mapping[str, Any]]:
    document = parse_json(reply)
    hits = document.get("hits") if isinstance(document, dict) else None
    rows = hits.get("hits") if isinstance(hits, dict) else None
    if not isinstance(rows, list):
        raise Garbage("the _search reply has no hits")
    return [
        row["_source"]
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("_source"), dict)
    ]


def _sample(http: Http, path: str, ctx: ProbeContext) -> Fields:
    reply = http.get(path + "/_search", {"size": str(ctx.sample_size)})
    if reply.status != 200:
        raise Garbage(f"_search: {error_of(reply)}")
    return flatten(_sources(reply)[: ctx.sample_size])


def _fields(http: Http, index: str, ctx: ProbeContext, gaps: list[str]) -> Fields:
    path = "/" + quote(index, safe="")  # a hostile index name stays one path segment
    try:
        reply = http.get(path + "/_mapping")
        if reply.status != 200:
            raise Garbage(f"_mapping: {error_of(reply)}")
        names = mapping_names(parse_json(reply))
    except (HttpFailure, Garbage) as exc:
        gaps.append(f"{printable(index, NAME_CHARS)}: {exc}")
        return {}
    if not ctx.inspect_data:
        return {name: [] for name in names}
    try:
        sampled = _sample(http, path, ctx)
    except (HttpFailure, Garbage) as exc:
        gaps.append(f"{printable(index, NAME_CHARS)}: {exc}")
        sampled = {}
    return {name: sampled.get(name, []) for name in names}


def inventory(
    http: Http, indices: Sequence[tuple[str, int | None]], ctx: ProbeContext
) -> tuple[list[Container], list[str]]:
    # Dot-prefixed indices are Elasticsearch's and Kibana's own (.security, .kibana).
    visible = sorted((name, count) for name, count in indices if not name.startswith("."))
    gaps: list[str] = []
    if len(visible) > ctx.max_containers:
        skipped = len(visible) - ctx.max_containers
        gaps.append(f"{skipped} more indices not read: the size bound (max containers)")
    containers: list[Container] = []
    for index, count in visible[: ctx.max_containers]:
        if time.monotonic() > http.deadline:
            gaps.append(f"stopped after {len(containers)} indices: the probe's time budget")
            break
        fields = _fields(http, index, ctx, gaps)
        reports = summarise(fields, index)
        del fields  # sampled values end here; only the masked summaries are kept
        # The server's words: bounded and printable, like every name it sends.
        containers.append(Container(printable(index, NAME_CHARS), "index", count, reports))
    return containers, gaps


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    deadline = time.monotonic() + ctx.time_budget
    watchdog = Watchdog(Deadline(deadline)).start()
    session = http_session(watchdog)
    try:
        plain_http = Http(f"http://{bracketed(address)}:{port}", session, ctx, deadline, watchdog)
        secure_http = replace(plain_http, base=f"https://{bracketed(address)}:{port}")
        plain, secure = _root(plain_http), _root(secure_http)
        speaks = Transport(
            _tls_state(secure, plain),
            _plaintext_state(secure, plain),
            f"https GET /: {_shown(secure)}; http GET /: {_shown(plain)}",
            _shown(plain),
        )
        root = plain if isinstance(plain, Reply) else secure
        if not isinstance(root, Reply):
            return speaks.report(STORE, Auth.UNKNOWN, f"no HTTP answer: {speaks.answer}")
        if not _looks_like_elasticsearch(root):
            evidence = f"GET / is not Elasticsearch's reply: {error_of(root)}"
            return speaks.report(STORE, Auth.UNKNOWN, evidence)
        http = plain_http if isinstance(plain, Reply) else secure_http
        session_login = login(http, address, port, ctx)
        found = speaks.report(STORE, session_login.auth, session_login.evidence)
        if session_login.http is None:
            return found
        containers, gaps = inventory(session_login.http, session_login.indices, ctx)
    finally:
        session.close()
        watchdog.stop()
    every_gap = session_login.gaps + tuple(gaps)
    return found.with_inventory(session_login.identity, containers, every_gap, ctx.inspect_data)


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
