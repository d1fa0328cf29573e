"""Hostile SQL servers on loopback for the probe tests, built on `peers.fake`:
a PostgreSQL (protocol v3) and a MySQL (protocol 10) that speak just enough
for a login, and then misbehave as asked: quote the password back in their
error, ask for it in cleartext, or drip their answers. Each records what it
received, so a test can tell what left the scanner."""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.scanner.probes.peers import drip

# What the fakes quote back by default when the password itself never came (a
# digest or a scramble came): a hostile server, or a proxy, that knows it.
SECRET = "Tr0ub4dor&3-sql-hostile"  # noqa: S105  # a password no output may hold

Quote = Callable[[str], str]


def you_sent(password: str) -> str:
    return f"you sent '{password}'"


class _Closed(Exception):
    pass


class _Reader:
    """Reads a connection in exact sizes, recording every byte and whether it came over TLS."""

    def __init__(self, conn: socket.socket, received: list[tuple[bool, bytes]]) -> None:
        self.conn = conn
        self.tls = False
        self._received = received
        self._buffer = b""

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            data = self.conn.recv(4096)
            if not data:
                raise _Closed
            self._received.append((self.tls, data))
            self._buffer += data
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken


@dataclass
class _Recording:
    received: list[tuple[bool, bytes]] = field(default_factory=list, kw_only=True)

    def plaintext(self) -> bytes:
        return b"".join(data for over_tls, data in self.received if not over_tls)

    def over_tls(self) -> bytes:
        return b"".join(data for over_tls, data in self.received if over_tls)


# --- PostgreSQL -----------------------------------------------------------------------

_SSL_REQUEST, _GSSENC_REQUEST = 80877103, 80877104


def pg_message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


AUTH_OK = pg_message(b"R", struct.pack("!i", 0))
AUTH_CLEARTEXT = pg_message(b"R", struct.pack("!i", 3))
AUTH_MD5 = pg_message(b"R", struct.pack("!i", 5) + b"salt")
_READY = (
    b"".join(
        pg_message(b"S", name + b"\0" + value + b"\0")
        for name, value in (
            (b"server_version", b"16.4"),
            (b"server_encoding", b"UTF8"),
            (b"client_encoding", b"UTF8"),
            (b"standard_conforming_strings", b"on"),
            (b"DateStyle", b"ISO, MDY"),
            (b"integer_datetimes", b"on"),
        )
    )
    + pg_message(b"K", struct.pack("!ii", 1, 2))
    + pg_message(b"Z", b"I")
)


def _pg_error(text: str) -> bytes:
    return pg_message(b"E", b"SFATAL\0VFATAL\0C28P01\0M" + text.encode() + b"\0\0")


@dataclass
class FakePostgres(_Recording):
    """A hostile PostgreSQL: answers a startup with `ask` (an authentication
    request), then the password message with an error that quotes the
    password (`quoted`); or, logged in (AUTH_OK), the first query with
    `after_login`; or, `slow_login`, drips its answer to the startup."""

    ask: bytes
    quoted: Quote = you_sent
    knows: str = SECRET  # the password it quotes when it was not sent as it is
    tls: ssl.SSLContext | None = None  # answer an SSLRequest with 'S', and this
    slow_login: bool = False
    after_login: Callable[[socket.socket], None] | None = None

    def __call__(self, conn: socket.socket) -> None:
        reader = _Reader(conn, self.received)
        try:
            self._serve(reader)
        except (_Closed, OSError):
            return

    def _serve(self, reader: _Reader) -> None:
        while True:  # SSLRequest and GSSENCRequest, then the startup message
            (length,) = struct.unpack("!i", reader.read(4))
            startup = reader.read(length - 4)
            (code,) = struct.unpack("!i", startup[:4])
            if code == _SSL_REQUEST and self.tls is not None:
                reader.conn.sendall(b"S")
                reader.conn = self.tls.wrap_socket(reader.conn, server_side=True)
                reader.tls = True
            elif code in (_SSL_REQUEST, _GSSENC_REQUEST):
                reader.conn.sendall(b"N")
            else:
                break
        parts = startup[4:].split(b"\0")
        user = dict(zip(parts[::2], parts[1::2], strict=False)).get(b"user", b"?").decode()
        if self.slow_login:
            drip(reader.conn, self.ask + _pg_error("x" * 2000))
            return
        reader.conn.sendall(self.ask)
        if self.ask == AUTH_OK:
            reader.conn.sendall(_READY)
            reader.read(5)  # the first query's header
            if self.after_login is not None:
                self.after_login(reader.conn)
            return
        kind = reader.read(1)
        (length,) = struct.unpack("!i", reader.read(4))
        sent = reader.read(length - 4).rstrip(b"\0").decode()
        if kind != b"p":
            return
        # An md5 digest hides the password: this server knows it anyway.
        password = sent if self.ask == AUTH_CLEARTEXT else self.knows
        said = f'password authentication failed for user "{user}": {self.quoted(password)}'
        reader.conn.sendall(_pg_error(said))


# --- MySQL --------------------------------------------------------------------------

_CAPABILITIES = (
    1  # LONG_PASSWORD
    | 1 << 9  # PROTOCOL_41
    | 1 << 13  # TRANSACTIONS
    | 1 << 15  # SECURE_CONNECTION
    | 1 << 19  # PLUGIN_AUTH
)  # and no SSL: plaintext only
GREETING_BODY = (
    b"\x0a8.0.36-hostile\0"
    + struct.pack("<I", 7)
    + b"abcdefgh\0"
    + struct.pack("<HBHH", _CAPABILITIES & 0xFFFF, 0x21, 2, _CAPABILITIES >> 16)
    + bytes([21])
    + b"\0" * 10
    + b"ijklmnopqrst\0"
    + b"mysql_native_password\0"
)
# What an auth switch to each plugin carries: a new scramble, nothing, a prompt.
_SWITCH_DATA = {
    "mysql_native_password": b"ABCDEFGHIJKLMNOPQRST\0",
    "mysql_clear_password": b"",
    "dialog": b"\x04Password: ",
}


def mysql_packet(seq: int, body: bytes) -> bytes:
    return len(body).to_bytes(3, "little") + bytes([seq]) + body


def _mysql_error(seq: int, text: str) -> bytes:
    return mysql_packet(seq, b"\xff" + (1045).to_bytes(2, "little") + b"#28000" + text.encode())


@dataclass
class FakeMySQL(_Recording):
    """A hostile MySQL, plaintext only: greets, takes the login, switches to
    the auth plugin `switch_to`, and answers what comes back with an access
    denied that quotes the password (`quoted`); or, with `after_login`,
    accepts the login and hands the first query to it."""

    switch_to: str = "mysql_native_password"
    quoted: Quote = you_sent
    knows: str = SECRET  # the password it quotes when it was not sent as it is
    after_login: Callable[[socket.socket], None] | None = None

    def __call__(self, conn: socket.socket) -> None:
        reader = _Reader(conn, self.received)
        try:
            self._serve(reader)
        except (_Closed, OSError):
            return

    def _packet(self, reader: _Reader) -> bytes:
        return reader.read(int.from_bytes(reader.read(4)[:3], "little"))

    def _serve(self, reader: _Reader) -> None:
        reader.conn.sendall(mysql_packet(0, GREETING_BODY))
        login = self._packet(reader)
        user = login[32:].split(b"\0", 1)[0].decode(errors="replace")
        if self.after_login is not None:
            reader.conn.sendall(mysql_packet(2, b"\x00\x00\x00\x02\x00\x00\x00"))  # OK
            self._packet(reader)  # the first query (SET NAMES)
            self.after_login(reader.conn)
            return
        switch = b"\xfe" + self.switch_to.encode() + b"\0" + _SWITCH_DATA[self.switch_to]
        reader.conn.sendall(mysql_packet(2, switch))
        answer = self._packet(reader)
        # A scramble hides the password: this server knows it anyway.
        password = answer.rstrip(b"\0").decode(errors="replace") if self.cleartext else self.knows
        denied = f"Access denied for user '{user}'@'127.0.0.1': {self.quoted(password)}"
        reader.conn.sendall(_mysql_error(4, denied))

    @property
    def cleartext(self) -> bool:
        return self.switch_to != "mysql_native_password"
