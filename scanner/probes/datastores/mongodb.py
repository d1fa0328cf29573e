"""MongoDB: does it answer without credentials, does it offer TLS, and which
collections hold personal data (and how many documents, by its own count).

TLS and plaintext are read at the protocol level (a TLS handshake, and one
OP_MSG `isMaster` written by hand and read with a byte cap: `mongodb_wire`),
because a driver that falls back cannot tell. pymongo does the rest, read-only, every
operation bounded as a whole (`timeoutMS`) and by the probe's budget: SCRAM login,
`listDatabases`, `listCollections`, `count` without a query (collection
metadata, never a scan). Field names come from the server itself, by an
aggregation that returns only the key names of a few documents, so no value
leaves the server unless `--inspect-data` asks for a small `find` whose
values go straight to the personal-data detectors and are masked there.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pymongo
from bson.errors import BSONError
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from scanner.model import Host, Observation, Service
from scanner.probes.clients.wire import USER_AGENT, bracketed
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.documents import (
    MAX_DEPTH,
    NAME_CHARS,
    Fields,
    add_field,
    field_name,
    flatten,
    summarise,
)
from scanner.probes.datastores.logins import auth_for, credentials
from scanner.probes.datastores.mongodb_transport import reply_said, transport
from scanner.probes.datastores.report import (
    Auth,
    Container,
    StoreReport,
    Tristate,
    observations,
)
from scanner.probes.evidence import printable

STORE = "mongodb"
# Databases the server keeps for itself: users, replication, sharding.
SYSTEM_DATABASES = frozenset({"admin", "local", "config"})
UNAUTHORIZED = 13  # "command listDatabases requires authentication"

Client = MongoClient[dict[str, Any]]


def applies(service: Service) -> bool:
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.name in ("mongodb", "mongod") or service.product.startswith("MongoDB"))
    )


# --- the driver: login and inventory ---------------------------------------


def said(exc: BaseException) -> str:
    """What the server (or the driver) said, one bounded line, never a password."""
    if isinstance(exc, PyMongoError) and exc.timeout:
        # pymongo's own words here run long (the whole topology): ours instead.
        return "timed out (the per-operation timeout or the probe's time budget)"
    if isinstance(exc, OperationFailure) and exc.details:
        return reply_said(exc.details)
    return printable(f"{type(exc).__name__}: {exc}")


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
        # Each operation as a whole (selection, connection, every read of the
        # reply): a server dripping bytes cannot stretch it past this.
        "timeoutMS": ms,
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
    return MongoClient(bracketed(address), port, **options)


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
    auth = auth_for(credential)
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
    for credential in credentials(STORE, address, port, ctx):
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


def _names_into(entries: object, prefix: str, depth: int, fields: Fields) -> None:
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("k"), str):
            continue
        name = field_name(prefix, entry["k"])
        if add_field(fields, name) is None:
            return
        if depth < MAX_DEPTH:
            _names_into(entry.get("s"), name + ".", depth + 1, fields)


def _field_names(client: Client, database: str, collection: str, ctx: ProbeContext) -> Fields:
    fields: Fields = {}
    ms = max(1, int(ctx.timeout * 1000))
    pipeline = keys_pipeline(ctx.sample_size)
    with client[database][collection].aggregate(pipeline, maxTimeMS=ms) as cursor:
        for document in cursor:
            _names_into(document.get("keys"), "", 1, fields)
    return fields


def _sampled_fields(client: Client, database: str, collection: str, ctx: ProbeContext) -> Fields:
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
    name = printable(f"{database}.{collection}", 2 * NAME_CHARS)  # the server's words: bounded
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
    speaks = transport(address, port, ctx)
    if not speaks.usable:
        return speaks.report(STORE, Auth.UNKNOWN, f"no MongoDB answer: {speaks.answer}")
    if time.monotonic() >= deadline:
        return speaks.report(STORE, Auth.UNKNOWN, "stopped at the time budget before any login")
    # Every driver operation from here on ends by the probe's deadline too.
    with pymongo.timeout(max(0.001, deadline - time.monotonic())):
        session = login(address, port, ctx, tls=speaks.plaintext is not Tristate.YES)
        found = speaks.report(STORE, session.auth, session.evidence)
        if session.client is None:
            return found
        try:
            containers, gaps = inventory(session.client, session.databases, ctx, deadline)
        finally:
            session.client.close()
    return found.with_inventory(
        session.identity, containers, session.gaps + tuple(gaps), ctx.inspect_data
    )


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
