"""Replay servers: MongoDB and Elasticsearch answering from recorded replies.

Neither server is packaged for Debian, so the data-store tests talk to these
instead, on 127.0.50.x. Each answers the requests its fixtures under
`fixtures/datastores/` hold (see the README there) and keeps a list of what
it was asked, so a test can assert what the probe read and what it did not.

The MongoDB one speaks the wire protocol's OP_MSG framing (header, flagBits,
one kind-0 BSON section) and, for an `auth` server, SCRAM-SHA-256 with the
users the test gives it, so the probe logs in the way it would anywhere.
The Elasticsearch one is `http.server` answering GETs by path, with 401
`security_exception` unless the right Basic credentials arrive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import bson
import pytest
from bson import json_util
from bson.binary import Binary

from fixtures.datastores.servers import Unavailable, make_certificate
from tests.scanner.probes.peers import Listener, serving
from tests.support import FIXTURES

MONGODB_FIXTURES = FIXTURES / "datastores" / "mongodb"
ELASTICSEARCH_FIXTURES = FIXTURES / "datastores" / "elasticsearch"
ADDRESS_PREFIX = "127.0.50"

# What a store with the fixtures' 1,250 customers shows when it lets anyone in.
OPEN_WITH_CUSTOMERS = {
    "store.auth": "none",
    "store.personal_data": "yes",
    "store.pii.email": "1250",
}
# A customer's address in both stores' recorded documents.
SAMPLED_EMAIL = "amelia.drummond@example.com"

_HEADER = struct.Struct("<iiii")
_OP_MSG = 2013
_MORE_TO_COME = 1 << 1
_CHECKSUM = 1 << 0
_MAX_MESSAGE = 48_000_000
_TLS_HANDSHAKE = 0x16  # the first byte of a TLS ClientHello record
# What a mongod with authorization on answers before a login.
_OPEN_COMMANDS = frozenset(
    {"hello", "ismaster", "ping", "saslstart", "saslcontinue", "endsessions"}
)
_ITERATIONS = 4096  # the minimum pymongo accepts for SCRAM-SHA-256


def _load(path: Path) -> list[dict[str, Any]]:
    exchanges: list[dict[str, Any]] = json_util.loads(path.read_text())["exchanges"]
    return exchanges


# --- MongoDB --------------------------------------------------------------------


@dataclass
class _Conversation:
    """One SCRAM-SHA-256 exchange in progress on a connection."""

    user: str
    password: str
    client_first_bare: bytes
    server_first: bytes
    nonce: bytes
    skip_empty_exchange: bool


@dataclass
class _Connection:
    authenticated: bool = False
    scram: _Conversation | None = None


@dataclass
class MongoReplay:
    """A mongod that answers from fixtures/datastores/mongodb.

    `auth`: commands other than hello, ping and the SASL ones need a login
    (users: {(database, user): password}). `garbage`: bytes sent in place of
    any reply, for the probe's handling of a server that is not MongoDB.
    `overrides`: replies by command name, in place of the fixtures'.
    `tls`: TLS only, like `net.tls.mode: requireTLS` (plaintext is hung up on).
    """

    address: str
    auth: bool = False
    tls: ssl.SSLContext | None = None
    users: Mapping[tuple[str, str], str] = field(default_factory=dict)
    garbage: bytes | None = None
    overrides: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[dict[str, Any]] = field(default_factory=list)  # every command, decoded
    port: int = 0  # 0: any free port; the one listened on after construction

    def __post_init__(self) -> None:
        self._replies: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(MONGODB_FIXTURES.glob("*.json")):
            self._replies[path.stem] = _load(path)
        self._listener = Listener(self.address, self._serve, self.port)
        self.port = self._listener.port
        self._stop = self._listener.stopping

    def start(self) -> MongoReplay:
        self._listener.start()
        return self

    def stop(self) -> None:
        self._listener.stop()

    def commands(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.seen if next(iter(c), "").lower() == name.lower()]

    # -- plumbing

    def _serve(self, conn: socket.socket) -> None:
        state = _Connection()
        conn.settimeout(30)
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:  # a plaintext client: mongod with requireTLS hangs up
                conn.close()
                return
        with conn:
            while not self._stop.is_set():
                try:
                    message = self._read(conn)
                except (OSError, ValueError):
                    return
                if message is None:
                    return
                request_id, flags, command = message
                if self.garbage is not None:
                    conn.sendall(self.garbage)
                    return
                reply = self._answer(command, state)
                if flags & _MORE_TO_COME:
                    continue
                body = struct.pack("<I", 0) + b"\x00" + bson.encode(reply)
                header = _HEADER.pack(_HEADER.size + len(body), 1, request_id, _OP_MSG)
                try:
                    conn.sendall(header + body)
                except OSError:
                    return

    def _read(self, conn: socket.socket) -> tuple[int, int, dict[str, Any]] | None:
        header = _exactly(conn, _HEADER.size)
        if header is None or header[0] == _TLS_HANDSHAKE:
            return None  # mongod without TLS hangs up on a ClientHello
        length, request_id, _, opcode = _HEADER.unpack(header)
        if opcode != _OP_MSG or not _HEADER.size < length <= _MAX_MESSAGE:
            return None
        payload = _exactly(conn, length - _HEADER.size)
        if payload is None:
            return None
        (flags,) = struct.unpack_from("<I", payload)
        end = len(payload) - (4 if flags & _CHECKSUM else 0)
        command: dict[str, Any] = {}
        offset = 4
        while offset < end:
            kind = payload[offset]
            offset += 1
            size = int.from_bytes(payload[offset : offset + 4], "little")
            if kind == 0:
                command = bson.decode(payload[offset : offset + size])
            offset += size  # kind 1 (document sequences): not used by read commands
        return request_id, flags, command

    # -- answers

    def _answer(self, command: dict[str, Any], state: _Connection) -> dict[str, Any]:
        self.seen.append(command)
        name = next(iter(command), "")
        lowered = name.lower()
        if name in self.overrides:
            return self.overrides[name]
        if lowered in ("hello", "ismaster"):
            return self._hello(command, lowered)
        if lowered == "saslstart":
            return self._sasl_start(command, state)
        if lowered == "saslcontinue":
            return self._sasl_continue(command, state)
        if self.auth and not state.authenticated and lowered not in _OPEN_COMMANDS:
            reply = dict(self._replies["unauthorized"][0]["reply"])
            reply["errmsg"] = f"command {name} requires authentication"
            return reply
        return self._recorded(name, command)

    def _hello(self, command: dict[str, Any], lowered: str) -> dict[str, Any]:
        if "maxAwaitTimeMS" in command:  # a streaming heartbeat waits for a change
            self._stop.wait(min(command["maxAwaitTimeMS"], 10_000) / 1000)
        fixture = "hello" if lowered == "hello" else "isMaster"
        reply = dict(self._replies[fixture][0]["reply"])
        if not command.get("helloOk"):
            reply.pop("helloOk", None)
        asked = command.get("saslSupportedMechs")
        if isinstance(asked, str) and tuple(asked.split(".", 1)) in self.users:
            reply["saslSupportedMechs"] = ["SCRAM-SHA-256"]
        return reply

    def _recorded(self, name: str, command: dict[str, Any]) -> dict[str, Any]:
        database, target = command.get("$db"), command.get(name)
        for exchange in self._replies.get(name, []):
            wanted = exchange["request"]
            if (
                wanted.get("db", database) == database
                and wanted.get("collection", target) == target
            ):
                return _limited(exchange["reply"], command)
        reply = dict(self._replies["command_not_found"][0]["reply"])
        reply["errmsg"] = f"no such command: '{name}'"
        return reply

    def _failed(self, state: _Connection) -> dict[str, Any]:
        state.scram = None
        return dict(self._replies["authentication_failed"][0]["reply"])

    def _sasl_start(self, command: dict[str, Any], state: _Connection) -> dict[str, Any]:
        payload = bytes(command.get("payload", b""))
        password = None
        match = re.fullmatch(rb"n,,(n=([^,]*),r=([^,]+))", payload)
        if command.get("mechanism") == "SCRAM-SHA-256" and match:
            user = match.group(2).decode().replace("=2C", ",").replace("=3D", "=")
            password = self.users.get((command.get("$db", "admin"), user))
        if match is None or password is None:
            return self._failed(state)
        nonce = match.group(3) + base64.b64encode(os.urandom(18))
        salt = base64.b64encode(os.urandom(16))
        server_first = b"r=" + nonce + b",s=" + salt + b",i=" + str(_ITERATIONS).encode()
        options = command.get("options") or {}
        state.scram = _Conversation(
            user,
            password,
            match.group(1),
            server_first,
            nonce,
            bool(options.get("skipEmptyExchange")),
        )
        return {"conversationId": 1, "done": False, "payload": Binary(server_first), "ok": 1.0}

    def _sasl_continue(self, command: dict[str, Any], state: _Connection) -> dict[str, Any]:
        scram = state.scram
        payload = bytes(command.get("payload", b""))
        if scram is None:
            if state.authenticated and not payload:  # the last, empty step
                return {"conversationId": 1, "done": True, "payload": Binary(b""), "ok": 1.0}
            return self._failed(state)
        match = re.fullmatch(rb"(c=biws,r=([^,]+)),p=([^,]+)", payload)
        if match is None or match.group(2) != scram.nonce:
            return self._failed(state)
        salt = base64.b64decode(
            dict(p.split(b"=", 1) for p in scram.server_first.split(b","))[b"s"]
        )
        salted = hashlib.pbkdf2_hmac("sha256", scram.password.encode(), salt, _ITERATIONS)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        auth_message = b",".join((scram.client_first_bare, scram.server_first, match.group(1)))
        signature = hmac.digest(stored_key, auth_message, "sha256")
        proof = base64.b64decode(match.group(3))
        recovered = bytes(a ^ b for a, b in zip(proof, signature, strict=False))
        if not hmac.compare_digest(hashlib.sha256(recovered).digest(), stored_key):
            return self._failed(state)
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        verifier = b"v=" + base64.b64encode(hmac.digest(server_key, auth_message, "sha256"))
        state.scram, state.authenticated = None, True
        done = scram.skip_empty_exchange
        return {"conversationId": 1, "done": done, "payload": Binary(verifier), "ok": 1.0}


def _exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _limited(reply: dict[str, Any], command: dict[str, Any]) -> dict[str, Any]:
    """A cursor reply cut to the request's limit, as the server would."""
    limit = command.get("limit") or next(
        (stage["$limit"] for stage in command.get("pipeline", []) if "$limit" in stage), 0
    )
    cursor = reply.get("cursor")
    if not limit or not isinstance(cursor, dict):
        return reply
    return {**reply, "cursor": {**cursor, "firstBatch": cursor["firstBatch"][:limit]}}


def server_tls(directory: Path, address: str) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for `address`
    (skips the test when there is no openssl to make one)."""
    try:
        certificate = make_certificate(directory, [address])
    except Unavailable as exc:
        pytest.skip(str(exc))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    return context


def mongodb(address: str, **options: Any) -> AbstractContextManager[MongoReplay]:
    return serving(MongoReplay(address, **options))


T = TypeVar("T")


def replay_fixture(
    replay: Callable[..., AbstractContextManager[T]], address: str, **options: Any
) -> Callable[[], Iterator[T]]:
    """A fixture: `replay(address, **options)` serving one test."""

    def served() -> Iterator[T]:
        with replay(address, **options) as server:
            yield server

    return pytest.fixture(served)


# --- Elasticsearch --------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)


def _response(exchange: Mapping[str, Any], **substitutions: str) -> Response:
    recorded = exchange["response"]
    text = json.dumps(recorded["body"])
    for pattern, value in substitutions.items():
        # A literal replacement: a user name or path may hold backslashes.
        text = re.sub(pattern, value.replace("\\", "\\\\"), text)
    return Response(recorded["status"], text.encode(), tuple(recorded["headers"].items()))


@dataclass(frozen=True)
class Seen:
    path: str
    query: dict[str, list[str]]
    user: str  # the Basic user name that came with it, or ""


class ElasticsearchReplay:
    """An Elasticsearch node that answers GETs from fixtures/datastores/elasticsearch.

    `users`: security on, these (user, password) pairs may in. `garbage`: raw
    bytes sent in place of any HTTP reply. `overrides`: responses by path.
    `tls`: HTTPS only, like `xpack.security.http.ssl.enabled`.
    """

    def __init__(
        self,
        address: str,
        users: Mapping[str, str] | None = None,
        garbage: bytes | None = None,
        overrides: Mapping[str, Response] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.users = users
        self.garbage = garbage
        self.overrides = dict(overrides or {})
        self.seen: list[Seen] = []
        self.exchanges = {
            path.stem: _load(path) for path in sorted(ELASTICSEARCH_FIXTURES.glob("*.json"))
        }
        self.by_path = {
            e["request"]["path"]: e
            for stem in ("root", "cat_indices", "mapping", "search")
            for e in self.exchanges[stem]
        }
        self.server = ThreadingHTTPServer((address, 0), _handler(self))
        self.server.daemon_threads = True
        if tls is not None:
            # The handshake runs in accept(); a failed one is dropped there.
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def answer(self, target: str, authorization: str) -> Response:
        split = urlsplit(target)
        user, password = _basic(authorization)
        self.seen.append(Seen(split.path, parse_qs(split.query), user))
        if self.users is not None:
            if not authorization:
                exchange = self.exchanges["security_exception_401"][0]
                return _response(exchange, **{r"\[/[^\]]*\]": f"[{target}]"})
            if self.users.get(user) != password or not user:
                exchange = self.exchanges["authentication_failed_401"][0]
                return _response(
                    exchange,
                    **{
                        r"user \[[^\]]*\]": f"user [{user}]",
                        r"request \[/[^\]]*\]": f"request [{target}]",
                    },
                )
        if split.path in self.overrides:
            return self.overrides[split.path]
        recorded = self.by_path.get(split.path)
        if recorded is None:
            missing = split.path.strip("/").split("/")[0] or "_"
            return _response(self.exchanges["not_found_404"][0], missing=missing)
        response = _response(recorded)
        size = parse_qs(split.query).get("size")
        if size and split.path.endswith("/_search") and response.status == 200:
            document = json.loads(response.body)
            document["hits"]["hits"] = document["hits"]["hits"][: int(size[0])]
            response = Response(response.status, json.dumps(document).encode(), response.headers)
        return response

    def start(self) -> ElasticsearchReplay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def _basic(authorization: str) -> tuple[str, str]:
    if not authorization.startswith("Basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password


def _handler(replay: ElasticsearchReplay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def handle(self) -> None:
            if not isinstance(self.connection, ssl.SSLSocket):
                first = self.connection.recv(1, socket.MSG_PEEK)
                if not first or first[0] == _TLS_HANDSHAKE:
                    return  # a plaintext node hangs up on a ClientHello
            if replay.garbage is not None:
                self.connection.sendall(replay.garbage)
                return
            super().handle()

        def do_GET(self) -> None:
            response = replay.answer(self.path, self.headers.get("Authorization", ""))
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def elasticsearch(address: str, **options: Any) -> AbstractContextManager[ElasticsearchReplay]:
    return serving(ElasticsearchReplay(address, **options))
