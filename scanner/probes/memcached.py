"""Memcached: does it answer without authentication, does it speak TLS or
plaintext, and which key patterns hold personal data.

There is no driver here: a small client for memcached's ASCII protocol
(doc/protocol.txt) below bounds every read in bytes and time. Only `version`,
`stats`, `lru_crawler metadump all` (memcached 1.4.31 and later) and, with
`--inspect-data`, `get` of a few small items per key pattern are sent. With
`-Y` (an auth file) memcached answers `CLIENT_ERROR unauthenticated` until a
client sends `set <any key> 0 0 <n>` with `user password` as the value;
that `set` is sent only to a server that asked for it, so nothing is stored.
"""

from __future__ import annotations

import contextlib
import re
import socket
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from scanner.credentials import StoreCredential
from scanner.model import Host, Observation, Service
from scanner.probes import ProbeContext, ProbeSpec
from scanner.probes.redis import (
    JSON_BYTES,
    Deadline,
    KeyTally,
    LineReply,
    auth_for,
    clean,
    credential_attempts,
    estimate,
    exchange_line,
    scrub_report,
    socket_problem,
    summarise_values,
    tls_handshake,
    tls_socket,
)
from scanner.probes.store_report import Auth, Container, StoreReport, Tristate, observations

STORE = "memcached"
LINE_BYTES = 2048  # one reply line: keys are at most 250 bytes, 750 URL-encoded
RECV_BYTES = 16384
MAX_STATS = 300  # STAT lines read (memcached 1.6 sends about 90)
# Items whose stored size (key, value and item header) is above this are not
# fetched: their first bytes are not what a detector needs.
SAMPLE_ITEM_BYTES = JSON_BYTES + 512
_AUTH_KEY = b"trustscan-auth"  # any key: memcached ignores it for authentication
# A key safe to put on a command line: printable ASCII, no spaces, 250 bytes at most.
_SAFE_KEY = re.compile(rb"[!-~]{1,250}")
_BUSY = "memcached's LRU crawler was busy (a crawl or dump already running): keys not listed"
_NOT_LISTABLE = (
    "memcached cannot list its keys (lru_crawler metadump answered {!r}: it needs "
    "memcached 1.4.31 or later with the LRU crawler enabled)"
)


class McError(Exception):
    """The exchange failed; `reason` is ours (never echoes what we sent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class McClient:
    """memcached's ASCII protocol, just what the probe needs, every read bounded:
    lines by `line_cap`, values by the caller's cap, every wait by the per-read
    timeout cut short by the probe's deadline."""

    def __init__(
        self, sock: socket.socket, deadline: Deadline, timeout: float, line_cap: int = LINE_BYTES
    ) -> None:
        self._sock = sock
        self._deadline = deadline
        self._timeout = timeout
        self._line_cap = line_cap
        self._buffer = bytearray()

    @classmethod
    def open(
        cls, address: str, port: int, tls: bool, timeout: float, deadline: Deadline
    ) -> McClient:
        if deadline.expired:
            raise McError("the time budget ran out")
        try:
            sock = socket.create_connection((address, port), timeout=deadline.timeout(timeout))
            if tls:
                sock = tls_socket(sock)
        except OSError as exc:
            raise McError(socket_problem(exc)) from None
        return cls(sock, deadline, timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()

    def send(self, data: bytes) -> None:
        try:
            self._sock.settimeout(self._deadline.timeout(self._timeout))
            self._sock.sendall(data)
        except OSError as exc:
            raise McError(socket_problem(exc)) from None

    def _fill(self) -> None:
        if self._deadline.expired:
            raise McError("the time budget ran out")
        try:
            self._sock.settimeout(self._deadline.timeout(self._timeout))
            chunk = self._sock.recv(RECV_BYTES)
        except OSError as exc:
            raise McError(socket_problem(exc)) from None
        if not chunk:
            raise McError("connection closed")
        self._buffer += chunk

    def line(self) -> bytes:
        """One reply line without its line end (`\\r\\n`, or `\\n` in metadump)."""
        while True:
            end = self._buffer.find(b"\n", 0, self._line_cap + 1)
            if end >= 0:
                line = bytes(self._buffer[:end]).rstrip(b"\r")
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > self._line_cap:
                raise McError(f"a reply line over {self._line_cap:,} bytes")
            self._fill()

    def exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def request(self, command: bytes) -> bytes:
        """Send one command line and read the first reply line."""
        self.send(command + b"\r\n")
        return self.line()

    def authenticate(self, username: str, password: str) -> bytes:
        """memcached's ASCII authentication; the reply line (STORED on success)."""
        token = f"{username} {password}".encode()
        self.send(b"set %s 0 0 %d\r\n%s\r\n" % (_AUTH_KEY, len(token), token))
        return self.line()

    def stats(self, max_bytes: int) -> dict[str, str]:
        first = self.request(b"stats")
        stats: dict[str, str] = {}
        line, read, lines = first, len(first), 1
        while line != b"END":
            parts = line.split(b" ", 2)
            if len(parts) != 3 or parts[0] != b"STAT":
                raise McError(f"stats answered {clean(line)!r}")
            stats[clean(parts[1], 60)] = clean(parts[2], 200)
            if lines >= MAX_STATS or read > max_bytes:
                raise McError(f"stats sent more than {MAX_STATS} lines or {max_bytes:,} bytes")
            line = self.line()
            read, lines = read + len(line), lines + 1
        return stats

    def get_many(self, keys: Sequence[bytes], value_cap: int) -> dict[bytes, bytes]:
        """Values of the keys (all safe keys), none larger than value_cap bytes."""
        self.send(b"get " + b" ".join(keys) + b"\r\n")
        values: dict[bytes, bytes] = {}
        for _ in range(len(keys) + 1):
            header = self.line()
            if header == b"END":
                return values
            parts = header.split(b" ")
            if len(parts) < 4 or parts[0] != b"VALUE" or not parts[3].isdigit():
                raise McError(f"get answered {clean(header)!r}")
            size = int(parts[3])
            if size > value_cap:
                raise McError(f"a value of {size:,} bytes (over {value_cap:,})")
            data = self.exactly(size + 2)
            values[parts[1]] = data[:size]
        raise McError("get sent more values than keys asked for")


@dataclass(frozen=True)
class Item:
    key: bytes  # as stored (URL-decoded from metadump)
    size: int  # memcached's item size: key, value and header


def metadump_item(line: bytes) -> Item | None:
    """`key=user%3A1%3Aemail exp=-1 la=... cas=1 fetch=no cls=1 size=88` -> Item."""
    fields = dict(part.split(b"=", 1) for part in line.split(b" ") if b"=" in part)
    if b"key" not in fields:
        return None
    size = fields.get(b"size", b"")
    return Item(
        urllib.parse.unquote_to_bytes(fields[b"key"]),
        int(size) if size.isdigit() else 0,
    )


@dataclass(frozen=True)
class Listing:
    items: tuple[Item, ...]
    complete: bool  # the dump reached END before the limit
    refused: str = ""  # the first line when the server would not dump


def list_keys(client: McClient, limit: int) -> Listing:
    """Up to `limit` keys from `lru_crawler metadump all`. The client should be
    closed afterwards: a dump cut short is still streaming."""
    line = client.request(b"lru_crawler metadump all")
    items: list[Item] = []
    while line != b"END":
        item = metadump_item(line)
        if item is None:
            if not items:
                return Listing((), False, clean(line, 60))
            raise McError(f"metadump sent {clean(line)!r}")
        items.append(item)
        if len(items) >= limit:
            return Listing(tuple(items), False)
        line = client.line()
    return Listing(tuple(items), True)


def applies(service: Service) -> bool:
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.name in ("memcached", "memcache") or service.product.startswith("Memcached"))
    )


def plaintext_answer(reply: LineReply) -> Tristate:
    """Whether a plaintext `version` got a memcached answer (its version, or
    an authentication error)."""
    line = reply.line or b""
    if line.startswith((b"VERSION ", b"CLIENT_ERROR", b"SERVER_ERROR")):
        return Tristate.YES
    return Tristate.NO


# --- logging in ------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    address: str
    port: int
    tls: bool
    ctx: ProbeContext
    deadline: Deadline

    def open(self) -> McClient:
        return McClient.open(self.address, self.port, self.tls, self.ctx.timeout, self.deadline)


@dataclass(frozen=True)
class _Login:
    auth: Auth
    evidence: str
    credential: StoreCredential | None = None


def _sendable(credential: StoreCredential) -> bool:
    # The token is one line, user and password split at the first space.
    return not any(c in credential.username for c in " \r\n") and not any(
        c in credential.password for c in "\r\n"
    )


def _try(target: _Target, credential: StoreCredential) -> str:
    """One authentication on a fresh connection: "" on success, else what happened."""
    client = target.open()
    try:
        reply = client.authenticate(credential.username, credential.password)
        if reply != b"STORED":
            return f"answered {clean(reply.split(b' ', 1)[0], 20)!r}"
        check = client.request(b"version")
        return "" if check.startswith(b"VERSION ") else f"then version answered {clean(check)!r}"
    finally:
        client.close()


def _try_credentials(target: _Target, said: list[str]) -> _Login | None:
    ctx = target.ctx
    for credential in credential_attempts(STORE, target.address, target.port, ctx):
        if not _sendable(credential):
            said.append(f"{credential.label}: a space or line break memcached cannot take")
            continue
        try:
            refused = _try(target, credential)
        except McError as exc:
            said.append(f"authentication as {credential.label}: {exc.reason}")
            continue
        if not refused:
            evidence = f"authentication as {credential.label} accepted"
            return _Login(auth_for(credential), evidence, credential)
        said.append(f"authentication as {credential.label} {refused}")
    return None


def _login(target: _Target) -> _Login:
    over = " over TLS" if target.tls else ""
    try:
        client = target.open()
        try:
            reply = client.request(b"version")
        finally:
            client.close()
    except McError as exc:
        return _Login(Auth.UNKNOWN, f"version{over}: {exc.reason}")
    first = f"version{over} without authentication answered {clean(reply)!r}"
    if reply.startswith(b"VERSION "):
        return _Login(Auth.NONE, first)
    if not reply.startswith(b"CLIENT_ERROR"):
        return _Login(Auth.UNKNOWN, first)
    said = [first]
    found = _try_credentials(target, said)
    if found is not None:
        return replace(found, evidence=f"{first}; {found.evidence}")
    if len(said) == 1:
        said.append("no credentials to try (--credentials)")
    return _Login(Auth.REQUIRED, "; ".join(said[:8]))


# --- reading the items ---------------------------------------------------------------


@dataclass
class _Reader:
    target: _Target
    credential: StoreCredential | None
    gaps: list[str] = field(default_factory=list)
    client: McClient | None = None

    def session(self) -> McClient:
        """The open connection, (re)opened and logged in when needed."""
        if self.client is None:
            client = self.target.open()
            if self.credential is not None:
                reply = client.authenticate(self.credential.username, self.credential.password)
                if reply != b"STORED":
                    client.close()
                    raise McError("authentication refused on a new connection")
            self.client = client
        return self.client

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def _item_count(reader: _Reader) -> int | None:
    try:
        stats = reader.session().stats(reader.target.ctx.max_bytes)
    except McError as exc:
        reader.drop()
        reader.gaps.append(f"stats: {exc.reason}")
        return None
    count = stats.get("curr_items", "")
    return int(count) if count.isdigit() else None


def _listing(reader: _Reader) -> Listing | None:
    # The dump streams every item: on its own connection, closed when done.
    reader.drop()
    try:
        return list_keys(reader.session(), reader.target.ctx.max_keys)
    except McError as exc:
        reader.gaps.append(f"lru_crawler metadump: {exc.reason}")
        return None
    finally:
        reader.drop()


def _values(reader: _Reader, items: Sequence[Item]) -> list[str]:
    keys = [i.key for i in items if _SAFE_KEY.fullmatch(i.key) and i.size <= SAMPLE_ITEM_BYTES]
    if not keys:
        return []
    found = reader.session().get_many(keys, JSON_BYTES)
    return [v.decode("utf-8", "replace") for v in found.values()]


def _containers(reader: _Reader, listing: Listing, total: int | None) -> list[Container]:
    ctx = reader.target.ctx
    keep = ctx.sample_size if ctx.inspect_data else 0
    tally = KeyTally(keep)
    sizes: dict[bytes, int] = {}
    for item in listing.items:
        tally.add(item.key)
        sizes[item.key] = item.size
    if not listing.complete:
        of = f" of {total:,}" if total is not None else ""
        reader.gaps.append(
            f"listed {tally.visited:,}{of} items (--max-keys); "
            + ("key-pattern record counts are estimated from them" if of else "counts are partial")
        )
    patterns = tally.largest(ctx.max_containers)
    if len(tally.counts) > len(patterns):
        reader.gaps.append(f"{len(tally.counts) - len(patterns)} more key pattern(s) not listed")
    containers: list[Container] = []
    for pattern in patterns:
        records = estimate(
            tally.counts[pattern], tally.visited, None if listing.complete else total
        )
        values: list[str] | None = None
        if ctx.inspect_data and not reader.target.deadline.expired:
            samples = [Item(k, sizes[k]) for k in tally.samples[pattern]]
            try:
                values = _values(reader, samples)
            except McError as exc:
                reader.gaps.append(f"{pattern}: reading values stopped: {exc.reason}")
                reader.drop()
        containers.append(
            Container(pattern, "key-pattern", records, summarise_values(pattern, values))
        )
        del values  # raw values end here; only the masked summary is kept
    return containers


def _inventory(reader: _Reader) -> list[Container]:
    total = _item_count(reader)
    listing = _listing(reader)
    if listing is not None and listing.refused:
        busy = listing.refused.startswith("BUSY")
        reader.gaps.append(_BUSY if busy else _NOT_LISTABLE.format(listing.refused))
    if listing is None or listing.refused:
        # What stats says is all there is to say: how many items, not what they are.
        return [Container("*", "key-pattern", total)] if total else []
    containers = _containers(reader, listing, total)
    if reader.target.deadline.expired:
        reader.gaps.append(
            f"the {reader.target.ctx.time_budget:g}s time budget ran out; the inventory is partial"
        )
    return containers


# --- the probe -----------------------------------------------------------------


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    deadline = Deadline.after(ctx.time_budget)
    version = exchange_line(address, port, b"version\r\n", ctx.timeout, deadline)
    plaintext = plaintext_answer(version)
    offered, tls_said = tls_handshake(address, port, deadline.timeout(ctx.timeout))
    tls_evidence = f"{tls_said}; a plaintext version {version.describe()}"
    if plaintext is Tristate.NO and offered is not Tristate.YES:
        return StoreReport(
            STORE,
            Auth.UNKNOWN,
            f"no memcached answer: a plaintext version {version.describe()}",
            offered,
            Tristate.UNKNOWN,
            tls_evidence,
        )
    target = _Target(address, port, plaintext is not Tristate.YES, ctx, deadline)
    login = _login(target)
    secrets = [c.password for c in credential_attempts(STORE, address, port, ctx)]
    base = StoreReport(STORE, login.auth, login.evidence, offered, plaintext, tls_evidence)
    if login.auth not in (Auth.NONE, Auth.SUPPLIED_CREDENTIALS, Auth.DEFAULT_CREDENTIALS):
        return scrub_report(base, secrets)
    reader = _Reader(target, login.credential)
    try:
        containers = _inventory(reader)
    except McError as exc:
        containers = []
        reader.gaps.append(f"the session ended: {exc.reason}")
    finally:
        reader.drop()
    identity = login.credential.username if login.credential is not None else ""
    return scrub_report(
        replace(
            base,
            identity=identity,
            containers=tuple(containers),
            inspected=ctx.inspect_data,
            gaps=tuple(reader.gaps),
        ),
        secrets,
    )


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
