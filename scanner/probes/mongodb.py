"""MongoDB: does it answer without credentials, does it offer TLS, and which
collections hold personal data (and how many documents, by its own count).

TLS and plaintext are read at the protocol level (a TLS handshake, and one
OP_MSG `isMaster` written by hand and read with a byte cap), because a driver
that falls back cannot tell. pymongo does the rest, read-only: SCRAM login,
`listDatabases`, `listCollections`, `count` without a query (collection
metadata, never a scan). Field names come from the server itself, by an
aggregation that returns only the key names of a few documents, so no value
leaves the server unless `--inspect-data` asks for a small `find` whose
values go straight to the personal-data detectors and are masked there.

The document helpers (`flatten`, `scrub`, `printable`) serve the
Elasticsearch probe too: both stores hold nested documents.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import Any

import bson
from bson.decimal128 import Decimal128
from bson.errors import BSONError
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from scanner import __version__, pii
from scanner.credentials import DEFAULTS, StoreCredential
from scanner.model import Host, Observation, Service
from scanner.probes import ProbeContext, ProbeSpec
from scanner.probes.store_report import (
    Auth,
    Container,
    FieldReport,
    StoreReport,
    Tristate,
    observations,
)

STORE = "mongodb"
USER_AGENT = f"trustscan/{__version__} (security audit)"
# Databases the server keeps for itself: users, replication, sharding.
SYSTEM_DATABASES = frozenset({"admin", "local", "config"})
MAX_DEPTH = 3  # a.b.c: deep enough for addresses and profiles, bounded for hostile documents
MAX_FIELDS = 100  # field names per collection or index
_OP_MSG = 2013
_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
_MAX_SAID = 200
_MAX_NAME = 120
_MAX_VALUE = 512  # characters of one sampled string: enough for any detector
UNAUTHORIZED = 13  # "command listDatabases requires authentication"

Document = Mapping[str, Any]
Client = MongoClient[dict[str, Any]]


def applies(service: Service) -> bool:
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.name in ("mongodb", "mongod") or service.product.startswith("MongoDB"))
    )


# --- helpers shared with the Elasticsearch probe ---------------------------


def printable(text: str, limit: int = _MAX_SAID) -> str:
    """A target's words as one bounded, printable line."""
    cleaned = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _scalar(value: object) -> object | None:
    """A value the detectors can read, bounded; None for what they cannot."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value[:_MAX_VALUE]
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal128):
        return str(value)
    return None


def _add(fields: dict[str, list[object]], name: str) -> list[object] | None:
    if name not in fields and len(fields) >= MAX_FIELDS:
        return None
    return fields.setdefault(name, [])


def _flatten_into(
    document: Mapping[Any, Any], prefix: str, depth: int, fields: dict[str, list[object]]
) -> None:
    for key, value in document.items():
        name = prefix + printable(str(key), _MAX_NAME)
        values = _add(fields, name)
        if values is None:
            return
        if isinstance(value, Mapping):
            if depth < MAX_DEPTH:
                _flatten_into(value, name + ".", depth + 1, fields)
            continue
        # Arrays count as their field: their scalar items are its values.
        items = value if isinstance(value, list) else [value]
        values.extend(v for v in map(_scalar, items[:20]) if v is not None)


def flatten(documents: Iterable[Mapping[Any, Any]]) -> dict[str, list[object]]:
    """Dotted field names (`address.city`, depth <= 3, at most 100) with their
    sampled scalar values, in the order the documents first show them."""
    fields: dict[str, list[object]] = {}
    for document in documents:
        _flatten_into(document, "", 1, fields)
    return fields


def summarise(fields: Mapping[str, Sequence[object]], container: str) -> tuple[FieldReport, ...]:
    return tuple(pii.summarise_field(name, container, values) for name, values in fields.items())


def _scrub_text(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def scrub(report: StoreReport, secrets: Sequence[str]) -> StoreReport:
    """The report with every supplied password blanked out, wherever a hostile
    server may have echoed it (an error message, an index name)."""
    secrets = [s for s in secrets if s]
    if not secrets:
        return report

    def clean(text: str) -> str:
        return _scrub_text(text, secrets)

    containers = tuple(
        replace(
            c,
            name=clean(c.name),
            fields=tuple(
                replace(f, name=clean(f.name), masked_examples=tuple(map(clean, f.masked_examples)))
                for f in c.fields
            ),
        )
        for c in report.containers
    )
    return replace(
        report,
        auth_evidence=clean(report.auth_evidence),
        tls_evidence=clean(report.tls_evidence),
        identity=clean(report.identity),
        containers=containers,
        gaps=tuple(map(clean, report.gaps)),
    )


def supplied_passwords(ctx: ProbeContext, store: str, address: str, port: int) -> list[str]:
    # Vendor defaults are public; only the user's own passwords are secrets.
    return [c.password for c in ctx.credentials_for(store, address, port) if c.password]


# --- transport: TLS and plaintext, by hand ---------------------------------


def tls_handshake(address: str, port: int, timeout: float) -> tuple[Tristate, str]:
    """Whether the port completes a TLS handshake (the certificate is not judged here)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as raw,
            context.wrap_socket(raw) as tls,
        ):
            return Tristate.YES, f"TLS handshake completed ({tls.version()})"
    except ssl.SSLError as exc:
        return Tristate.NO, f"no TLS handshake ({printable(exc.reason or type(exc).__name__)})"
    except (ConnectionResetError, BrokenPipeError):
        return Tristate.NO, "no TLS handshake (the server hung up on the ClientHello)"
    except TimeoutError:
        return Tristate.UNKNOWN, f"no answer to a TLS ClientHello within {timeout:g} s"
    except OSError as exc:
        return Tristate.UNKNOWN, f"TLS handshake: {printable(exc.strerror or type(exc).__name__)}"


class Plaintext(Enum):
    ANSWERED = "answered"
    HUNG_UP = "hung-up"  # connected, then closed: TLS-only servers do this
    FAILED = "failed"  # refused, timed out, or not MongoDB's protocol


class _NotMongo(Exception):
    """Bytes that are not a MongoDB reply."""


def op_msg(document: Document, request_id: int = 1) -> bytes:
    """One OP_MSG with a single kind-0 section (the MongoDB wire protocol)."""
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(document)
    return _HEADER.pack(_HEADER.size + len(body), request_id, 0, _OP_MSG) + body


def _receive(conn: socket.socket, size: int, deadline: float) -> bytes:
    data = b""
    while len(data) < size:
        if time.monotonic() > deadline:
            raise TimeoutError("reply too slow")  # a server dripping bytes
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("closed mid-message")
        data += chunk
    return data


def _read_reply(conn: socket.socket, max_bytes: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + 2 * timeout
    header = conn.recv(_HEADER.size)
    if not header:
        raise ConnectionResetError("closed without a reply")
    header += _receive(conn, _HEADER.size - len(header), deadline)
    length, _, _, opcode = _HEADER.unpack(header)
    if opcode != _OP_MSG or not _HEADER.size + 5 < length <= max_bytes:
        raise _NotMongo(
            f"not a MongoDB message (opCode {opcode}, length {length}, cap {max_bytes})"
        )
    payload = _receive(conn, length - _HEADER.size, deadline)
    if payload[4] != 0:
        raise _NotMongo("the reply's first section is not a document")
    try:
        return bson.decode(payload[5 : 5 + int.from_bytes(payload[5:9], "little")])
    except (BSONError, IndexError, RecursionError) as exc:
        raise _NotMongo(f"the reply is not BSON ({type(exc).__name__})") from None


def plaintext_hello(address: str, port: int, ctx: ProbeContext) -> tuple[Plaintext, str]:
    """Send `isMaster` in the clear, as any MongoDB client's first message does."""
    try:
        with socket.create_connection((address, port), timeout=ctx.timeout) as conn:
            conn.sendall(op_msg({"isMaster": 1, "$db": "admin"}))
            reply = _read_reply(conn, ctx.max_bytes, ctx.timeout)
    except (ConnectionResetError, BrokenPipeError):
        return Plaintext.HUNG_UP, "a plaintext isMaster got no reply (the server hung up)"
    except TimeoutError:
        return Plaintext.FAILED, f"no reply to a plaintext isMaster within {ctx.timeout:g} s"
    except OSError as exc:
        return Plaintext.FAILED, f"plaintext isMaster: {printable(exc.strerror or str(exc))}"
    except _NotMongo as exc:
        return Plaintext.FAILED, f"a plaintext isMaster got an answer, but {exc}"
    if reply.get("ok") != 1:
        return Plaintext.FAILED, f"plaintext isMaster failed: {_reply_said(reply)}"
    return Plaintext.ANSWERED, "plaintext isMaster answered"


def _transport(tls: Tristate, plain: Plaintext) -> Tristate:
    if plain is Plaintext.ANSWERED:
        return Tristate.YES
    if plain is Plaintext.HUNG_UP and tls is Tristate.YES:
        return Tristate.NO  # net.tls.mode requireTLS
    return Tristate.UNKNOWN


# --- the driver: login and inventory ---------------------------------------


def _reply_said(reply: Document) -> str:
    name = reply.get("codeName") or "error"
    return printable(f"{name} ({reply.get('code', '?')}): {reply.get('errmsg', '')}")


def said(exc: BaseException) -> str:
    """What the server (or the driver) said, one bounded line, never a password."""
    if isinstance(exc, OperationFailure) and exc.details:
        return _reply_said(exc.details)
    return printable(f"{type(exc).__name__}: {exc}")


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _client(
    address: str, port: int, ctx: ProbeContext, tls: bool, credential: StoreCredential | None
) -> Client:
    ms = max(1, int(ctx.timeout * 1000))
    options: dict[str, Any] = {
        "directConnection": True,
        "serverSelectionTimeoutMS": ms,
        "connectTimeoutMS": ms,
        "socketTimeoutMS": ms,
        "serverMonitoringMode": "poll",  # a short-lived client: no streaming heartbeats
        "retryReads": False,
        "retryWrites": False,
        "maxPoolSize": 1,
        "appname": USER_AGENT,
        "tls": tls,
    }
    if tls:
        options["tlsInsecure"] = True  # whether data is readable, not whether the cert is good
    if credential is not None:
        options |= {
            "username": credential.username,
            "password": credential.password,
            "authSource": credential.database or "admin",
        }
    return MongoClient(_host(address), port, **options)


class _Garbage(Exception):
    """A reply of the right form but the wrong content."""


def list_databases(client: Client) -> list[str]:
    reply = client.admin.command("listDatabases", nameOnly=True)
    databases = reply.get("databases")
    if not isinstance(databases, list):
        raise _Garbage("the listDatabases reply has no list of databases")
    return [str(d["name"]) for d in databases if isinstance(d, dict) and "name" in d]


@dataclass(frozen=True)
class Login:
    client: Client | None
    auth: Auth
    evidence: str
    identity: str = ""
    databases: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()


def _attempts(address: str, port: int, ctx: ProbeContext) -> list[StoreCredential]:
    attempts = list(ctx.credentials_for(STORE, address, port))
    if ctx.try_default_credentials:
        attempts += [c for c in DEFAULTS if c.store == STORE]
    return attempts


def _anonymous(address: str, port: int, ctx: ProbeContext, tls: bool) -> Login | str:
    """A Login when listDatabases settles it without credentials, else what the server said."""
    client = _client(address, port, ctx, tls, None)
    try:
        databases = list_databases(client)
    except OperationFailure as exc:
        client.close()
        if exc.code != UNAUTHORIZED:
            return Login(None, Auth.UNKNOWN, f"listDatabases without credentials: {said(exc)}")
        return said(exc)
    except (PyMongoError, BSONError, _Garbage) as exc:
        client.close()
        return Login(None, Auth.UNKNOWN, f"listDatabases without credentials: {said(exc)}")
    evidence = f"listDatabases answered without credentials ({len(databases)} databases)"
    return Login(client, Auth.NONE, evidence, databases=tuple(databases))


def _with_credential(
    address: str, port: int, ctx: ProbeContext, tls: bool, credential: StoreCredential
) -> Login | str:
    client = _client(address, port, ctx, tls, credential)
    try:
        client.admin.command("ping")  # logs in; ping itself needs no privilege
    except (PyMongoError, BSONError) as exc:
        client.close()
        return f"{credential.label}: {said(exc)}"
    auth = Auth.DEFAULT_CREDENTIALS if credential.source == "default" else Auth.SUPPLIED_CREDENTIALS
    try:
        databases, gaps = list_databases(client), []
    except (PyMongoError, BSONError, _Garbage) as exc:
        databases, gaps = [], [f"listDatabases as {credential.username}: {said(exc)}"]
    return Login(
        client,
        auth,
        f"{credential.label} was accepted",
        identity=credential.username,
        databases=tuple(databases),
        gaps=tuple(gaps),
    )


def login(address: str, port: int, ctx: ProbeContext, tls: bool) -> Login:
    first = _anonymous(address, port, ctx, tls)
    if isinstance(first, Login):
        return first
    tried = [f"without credentials: {first}"]
    for credential in _attempts(address, port, ctx):
        outcome = _with_credential(address, port, ctx, tls, credential)
        if isinstance(outcome, Login):
            return replace(outcome, evidence=f"listDatabases {tried[0]}; {outcome.evidence}")
        tried.append(outcome)
    return Login(None, Auth.REQUIRED, "listDatabases " + "; ".join(tried))


def _keys_expression(source: str, level: int) -> dict[str, Any]:
    """An aggregation expression for a document's key names, nested to MAX_DEPTH:
    `[{k: "address", s: [{k: "city", s: []}]}]`. Values stay on the server."""
    var = f"f{level}"
    entry: dict[str, Any] = {"k": f"$${var}.k"}
    if level + 1 < MAX_DEPTH:
        is_object = {"$eq": [{"$type": f"$${var}.v"}, "object"]}
        entry["s"] = {"$cond": [is_object, _keys_expression(f"$${var}.v", level + 1), []]}
    return {"$map": {"input": {"$objectToArray": source}, "as": var, "in": entry}}


def keys_pipeline(sample_size: int) -> list[dict[str, Any]]:
    return [
        {"$limit": sample_size},
        {"$project": {"_id": 0, "keys": _keys_expression("$$ROOT", 0)}},
    ]


def _names_into(entries: object, prefix: str, depth: int, fields: dict[str, list[object]]) -> None:
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("k"), str):
            continue
        name = prefix + printable(entry["k"], _MAX_NAME)
        if _add(fields, name) is None:
            return
        if depth < MAX_DEPTH:
            _names_into(entry.get("s"), name + ".", depth + 1, fields)


def _field_names(
    client: Client, database: str, collection: str, ctx: ProbeContext
) -> dict[str, list[object]]:
    fields: dict[str, list[object]] = {}
    ms = max(1, int(ctx.timeout * 1000))
    pipeline = keys_pipeline(ctx.sample_size)
    with client[database][collection].aggregate(pipeline, maxTimeMS=ms) as cursor:
        for document in cursor:
            _names_into(document.get("keys"), "", 1, fields)
    return fields


def _sampled_fields(
    client: Client, database: str, collection: str, ctx: ProbeContext
) -> dict[str, list[object]]:
    ms = max(1, int(ctx.timeout * 1000))
    found = client[database][collection].find(
        {}, limit=ctx.sample_size, batch_size=ctx.sample_size, max_time_ms=ms
    )
    with found as cursor:
        documents = [document for _, document in zip(range(ctx.sample_size), cursor, strict=False)]
    return flatten(documents)


def _records(client: Client, database: str, collection: str, ctx: ProbeContext) -> int | None:
    ms = max(1, int(ctx.timeout * 1000))
    # The `count` command without a query answers from collection metadata.
    count = client[database][collection].estimated_document_count(maxTimeMS=ms)
    return count if isinstance(count, int) and count >= 0 else None


def _collections(client: Client, database: str, limit: int) -> list[str]:
    names: list[str] = []
    db: Database[dict[str, Any]] = client[database]
    # nameOnly takes no collection locks; authorizedCollections lets a user
    # without the listCollections privilege list the ones it may read.
    with db.list_collections(nameOnly=True, authorizedCollections=True) as cursor:
        for info in cursor:
            name, kind = info.get("name"), info.get("type", "collection")
            # Views hold no documents of their own; system.* are the server's.
            if isinstance(name, str) and kind != "view" and not name.startswith("system."):
                names.append(name)
            if len(names) >= limit:
                break
    return sorted(names)


def _container(
    client: Client, database: str, collection: str, ctx: ProbeContext, gaps: list[str]
) -> Container:
    name = printable(f"{database}.{collection}", 2 * _MAX_NAME)  # the server's words: bounded
    try:
        records = _records(client, database, collection, ctx)
    except (PyMongoError, BSONError) as exc:
        records = None
        gaps.append(f"{name}: count: {said(exc)}")
    try:
        if ctx.inspect_data:
            fields = _sampled_fields(client, database, collection, ctx)
        else:
            fields = _field_names(client, database, collection, ctx)
    except (PyMongoError, BSONError) as exc:
        fields = {}
        gaps.append(f"{name}: field names: {said(exc)}")
    reports = summarise(fields, collection)
    del fields  # sampled values end here; only the masked summaries are kept
    return Container(name, "collection", records, reports)


def _bound_reached(containers: Sequence[Container], ctx: ProbeContext, deadline: float) -> str:
    if len(containers) >= ctx.max_containers:
        return f"stopped after {len(containers)} collections: the size bound (max containers)"
    if time.monotonic() > deadline:
        return f"stopped after {len(containers)} collections: the probe's time budget"
    return ""


def inventory(
    client: Client, databases: Sequence[str], ctx: ProbeContext, deadline: float
) -> tuple[list[Container], list[str]]:
    containers: list[Container] = []
    gaps: list[str] = []
    for database in sorted(d for d in databases if d not in SYSTEM_DATABASES):
        try:
            # One past the bound, to know whether the bound cut anything off.
            names = _collections(client, database, ctx.max_containers - len(containers) + 1)
        except (PyMongoError, BSONError) as exc:
            gaps.append(f"{database}: listCollections: {said(exc)}")
            continue
        for collection in names:
            bound = _bound_reached(containers, ctx, deadline)
            if bound:
                return containers, [*gaps, bound]
            containers.append(_container(client, database, collection, ctx, gaps))
    return containers, gaps


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    deadline = time.monotonic() + ctx.time_budget
    tls, tls_said = tls_handshake(address, port, ctx.timeout)
    plain, plain_said = plaintext_hello(address, port, ctx)
    plaintext = _transport(tls, plain)
    transport = StoreReport(STORE, Auth.UNKNOWN, "", tls, plaintext, f"{tls_said}; {plain_said}")
    if plaintext is Tristate.UNKNOWN and tls is not Tristate.YES:
        return replace(transport, auth_evidence=f"no MongoDB answer: {plain_said}")
    secrets = supplied_passwords(ctx, STORE, address, port)
    session = login(address, port, ctx, tls=plaintext is not Tristate.YES)
    found = replace(transport, auth=session.auth, auth_evidence=session.evidence)
    if session.client is None:
        return scrub(found, secrets)
    try:
        containers, gaps = inventory(session.client, session.databases, ctx, deadline)
    finally:
        session.client.close()
    full = replace(
        found,
        identity=session.identity,
        containers=tuple(containers),
        inspected=ctx.inspect_data,
        gaps=session.gaps + tuple(gaps),
    )
    return scrub(full, secrets)


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
