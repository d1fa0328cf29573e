"""A client for memcached's ASCII protocol (doc/protocol.txt), just what
the Memcached probe needs, with every read bounded: lines by a byte cap,
values by the caller's cap, every wait by the per-read timeout cut short by
the probe's deadline. `version`, `stats`, `lru_crawler metadump all`, `get`
of safe keys, and the `set` that memcached's ASCII authentication takes.
"""

from __future__ import annotations

import contextlib
import socket
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from scanner.probes.clients.wire import Broken, Deadline, socket_problem, tls_socket
from scanner.probes.evidence import clean

LINE_BYTES = 2048  # one reply line: keys are at most 250 bytes, 750 URL-encoded
RECV_BYTES = 16384
MAX_STATS = 300  # STAT lines read (memcached 1.6 sends about 90)
_AUTH_KEY = b"trustscan-auth"  # any key: memcached ignores it for authentication


class McError(Broken):
    """The exchange failed; `reason` is ours (never echoes what we sent)."""


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
