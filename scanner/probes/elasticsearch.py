"""Elasticsearch: does its REST API answer without credentials, does it offer
TLS, and which indices hold personal data (and how many documents, by
`_cat/indices`).

Plain HTTP with `requests`, GET only: `/`, `/_cat/indices`, `/<index>/_mapping`,
and `/<index>/_search?size=N` only when `--inspect-data` asks for values,
which go straight to the personal-data detectors and are masked there.
Every reply is read with a byte cap, no redirect is followed, and the
environment's proxies and `~/.netrc` are ignored, so no credential is sent
that the user did not name for this store.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import requests
from urllib3.exceptions import InsecureRequestWarning

from scanner.credentials import DEFAULTS, StoreCredential
from scanner.model import Host, Observation, Service
from scanner.probes import ProbeContext, ProbeSpec
from scanner.probes.mongodb import (
    MAX_DEPTH,
    MAX_FIELDS,
    USER_AGENT,
    flatten,
    printable,
    scrub,
    summarise,
    supplied_passwords,
)
from scanner.probes.store_report import Auth, Container, StoreReport, Tristate, observations

STORE = "elasticsearch"
# Replies may be this many times ProbeContext.max_bytes: a mapping or a page
# of _cat/indices is bigger than a banner.
REPLY_CAP_FACTOR = 16
_CHUNK = 16 * 1024
_MAX_NAME = 120


def applies(service: Service) -> bool:
    # nmap names the service "http", product "Elasticsearch REST API".
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.product.startswith("Elasticsearch") or service.name == "elasticsearch")
    )


class HttpFailure(Exception):
    """No usable HTTP reply: refused, timed out, too big, or not HTTP."""

    def __init__(self, reason: str, tls_error: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tls_error = tls_error


class _Garbage(Exception):
    """A reply that is HTTP but not what Elasticsearch sends."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


def _read(response: requests.Response, cap: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise HttpFailure(f"a reply of {declared} bytes is over the {cap}-byte cap")
    body = bytearray()
    for chunk in response.iter_content(chunk_size=_CHUNK):
        body += chunk
        if len(body) > cap:
            raise HttpFailure(f"a reply over the {cap}-byte cap")
        if time.monotonic() > deadline:
            raise HttpFailure("the probe's time budget ran out mid-reply")
    return bytes(body)


@dataclass(frozen=True)
class Http:
    """GET against one base URL, bounded in time and bytes."""

    base: str
    session: requests.Session
    ctx: ProbeContext
    deadline: float
    authorization: str = field(default="", repr=False)  # a Basic header: holds a password

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Reply:
        if time.monotonic() > self.deadline:
            raise HttpFailure("the probe's time budget is spent")
        headers = {"Authorization": self.authorization} if self.authorization else {}
        try:
            with warnings.catch_warnings():
                # TLS is only asked whether it is there; the certificate is not judged here.
                warnings.simplefilter("ignore", InsecureRequestWarning)
                response = self.session.get(
                    self.base + path,
                    params=params,
                    headers=headers,
                    timeout=(self.ctx.timeout, self.ctx.timeout),
                    stream=True,
                    allow_redirects=False,
                    verify=False,
                )
            with response:
                cap = self.ctx.max_bytes * REPLY_CAP_FACTOR
                return Reply(response.status_code, _read(response, cap, self.deadline))
        except requests.exceptions.SSLError as exc:
            raise HttpFailure(_failure(exc, self.ctx.timeout), tls_error=True) from None
        except requests.RequestException as exc:
            raise HttpFailure(_failure(exc, self.ctx.timeout)) from None


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: requests nests urllib3's reason deep."""
    found: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(found) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or item in found:
            continue
        found.append(item)
        todo += [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]
    return found


def _failure(exc: requests.RequestException, timeout: float) -> str:
    """Why no reply came, in a few plain words (never the bytes a target sent)."""
    causes = _causes(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no reply within {timeout:g} s"
    if any(isinstance(c, ConnectionRefusedError) or "refused" in str(c) for c in causes):
        return "connection refused"
    # A reset or a close (RemoteDisconnected is a ConnectionResetError): HTTPS-only nodes do this.
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "the server hung up without a reply"
    if any(isinstance(c, http.client.BadStatusLine) for c in causes):
        return "an answer that is not HTTP"
    return printable(f"{type(exc).__name__}: {exc}", 120)


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy and no ~/.netrc password from the environment
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def _basic(credential: StoreCredential) -> str:
    # Built by hand: requests encodes Basic credentials as Latin-1, Elasticsearch reads UTF-8.
    token = base64.b64encode(f"{credential.username}:{credential.password}".encode())
    return "Basic " + token.decode("ascii")


def parse_json(reply: Reply) -> object:
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError):
        raise _Garbage(f"HTTP {reply.status} with a body that is not JSON") from None


def error_of(reply: Reply) -> str:
    """Elasticsearch's error type and reason, or the start of whatever came back."""
    try:
        document = parse_json(reply)
    except _Garbage:
        document = None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        return printable(f"{reply.status} {error.get('type', 'error')}: {error.get('reason', '')}")
    if isinstance(error, str):
        return printable(f"{reply.status} {error}")
    return printable(f"HTTP {reply.status}: {reply.body[:80].decode('utf-8', 'replace')}")


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
    except _Garbage:
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
        raise _Garbage("the _cat/indices reply is not a JSON list")
    return tuple(
        (row["index"], _count(row.get("docs.count")))
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("index"), str)
    )


def _cat_indices(http: Http) -> Reply:
    return http.get("/_cat/indices", {"format": "json", "bytes": "b"})


def _attempts(address: str, port: int, ctx: ProbeContext) -> list[StoreCredential]:
    attempts = list(ctx.credentials_for(STORE, address, port))
    if ctx.try_default_credentials:
        attempts += [c for c in DEFAULTS if c.store == STORE]
    return attempts


def _with_credential(http: Http, credential: StoreCredential) -> Login | str:
    authed = replace(http, authorization=_basic(credential))
    try:
        reply = _cat_indices(authed)
        if reply.status == 401:
            return f"{credential.label}: {error_of(reply)}"
        auth = (
            Auth.DEFAULT_CREDENTIALS
            if credential.source == "default"
            else Auth.SUPPLIED_CREDENTIALS
        )
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
    except _Garbage as exc:
        return f"{credential.label}: {exc}"


def login(http: Http, address: str, port: int, ctx: ProbeContext) -> Login:
    try:
        reply = _cat_indices(http)
        if reply.status == 200:
            indices = parse_indices(reply)
            evidence = f"GET /_cat/indices answered without credentials ({len(indices)} indices)"
            return Login(http, Auth.NONE, evidence, indices=indices)
    except (HttpFailure, _Garbage) as exc:
        reason = exc.reason if isinstance(exc, HttpFailure) else str(exc)
        return Login(None, Auth.UNKNOWN, f"GET /_cat/indices without credentials: {reason}")
    tried = [f"without credentials: {error_of(reply)}"]
    if reply.status not in (401, 403):
        return Login(None, Auth.UNKNOWN, f"GET /_cat/indices {tried[0]}")
    for credential in _attempts(address, port, ctx):
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
        name = prefix + printable(str(key), _MAX_NAME)
        names.append(name)
        if depth < MAX_DEPTH and isinstance(spec, Mapping):
            _properties_into(spec.get("properties"), name + ".", depth + 1, names)


def mapping_names(document: object) -> list[str]:
    """Field names from a `_mapping` reply: `{index: {mappings: {properties}}}`,
    or before 7.0 one level more, `{index: {mappings: {<type>: {properties}}}}`."""
    names: list[str] = []
    if not isinstance(document, Mapping):
        raise _Garbage("the _mapping reply is not a JSON object")
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
        raise _Garbage("the _search reply has no hits")
    return [
        row["_source"]
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("_source"), dict)
    ]


def _sample(http: Http, path: str, ctx: ProbeContext) -> dict[str, list[object]]:
    reply = http.get(path + "/_search", {"size": str(ctx.sample_size)})
    if reply.status != 200:
        raise _Garbage(f"_search: {error_of(reply)}")
    return flatten(_sources(reply)[: ctx.sample_size])


def _fields(http: Http, index: str, ctx: ProbeContext, gaps: list[str]) -> dict[str, list[object]]:
    path = "/" + quote(index, safe="")  # a hostile index name stays one path segment
    try:
        reply = http.get(path + "/_mapping")
        if reply.status != 200:
            raise _Garbage(f"_mapping: {error_of(reply)}")
        names = mapping_names(parse_json(reply))
    except (HttpFailure, _Garbage) as exc:
        gaps.append(f"{printable(index, _MAX_NAME)}: {exc}")
        return {}
    if not ctx.inspect_data:
        return {name: [] for name in names}
    try:
        sampled = _sample(http, path, ctx)
    except (HttpFailure, _Garbage) as exc:
        gaps.append(f"{printable(index, _MAX_NAME)}: {exc}")
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
        containers.append(Container(printable(index, _MAX_NAME), "index", count, reports))
    return containers, gaps


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    deadline = time.monotonic() + ctx.time_budget
    secrets = supplied_passwords(ctx, STORE, address, port)
    session = _session()
    try:
        plain_http = Http(f"http://{_host(address)}:{port}", session, ctx, deadline)
        secure_http = replace(plain_http, base=f"https://{_host(address)}:{port}")
        plain, secure = _root(plain_http), _root(secure_http)
        transport = StoreReport(
            STORE,
            Auth.UNKNOWN,
            "",
            _tls_state(secure, plain),
            _plaintext_state(secure, plain),
            f"https GET /: {_shown(secure)}; http GET /: {_shown(plain)}",
        )
        root = plain if isinstance(plain, Reply) else secure
        if not isinstance(root, Reply):
            return replace(transport, auth_evidence=f"no HTTP answer: {_shown(plain)}")
        if not _looks_like_elasticsearch(root):
            evidence = f"GET / is not Elasticsearch's reply: {error_of(root)}"
            return scrub(replace(transport, auth_evidence=evidence), secrets)
        http = plain_http if isinstance(plain, Reply) else secure_http
        session_login = login(http, address, port, ctx)
        found = replace(transport, auth=session_login.auth, auth_evidence=session_login.evidence)
        if session_login.http is None:
            return scrub(found, secrets)
        containers, gaps = inventory(session_login.http, session_login.indices, ctx)
    finally:
        session.close()
    full = replace(
        found,
        identity=session_login.identity,
        containers=tuple(containers),
        inspected=ctx.inspect_data,
        gaps=session_login.gaps + tuple(gaps),
    )
    return scrub(full, secrets)


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
