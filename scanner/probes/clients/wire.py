"""Talking to a port ourselves: one deadline for a whole probe (and a
`Watchdog` that holds drivers to it), reads bounded in bytes and time, and a
session that breaks said in a few words of our own (never the target's); TLS
contexts that verify nothing, because a
probe asks whether a port speaks TLS (weak ciphers and old versions
included), not whether its certificate is good, which is the TLS probe's
business, and an audit must reach servers with self-signed certificates.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from scanner import __version__
from scanner.probes.context import ProbeContext
from scanner.probes.evidence import clean

USER_AGENT = f"trustscan/{__version__} (security audit)"  # who we say we are, when asked
LINE_BYTES = 512  # a banner or status line


@dataclass(frozen=True)
class Deadline:
    """The moment a probe must stop, on the monotonic clock."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def timeout(self, per_read: float) -> float:
        """A read's timeout: the per-read one, cut short by the deadline."""
        return max(0.001, min(per_read, self.remaining()))


class Watchdog:
    """Shuts down every connection it watches when the deadline passes.

    A driver reads with a timeout on each read, which a peer that sends a
    byte every few seconds restarts forever; the driver's own socket is often
    out of reach while it reads (libpq's, or urllib3's inside requests). The
    watchdog keeps a duplicate of each watched socket's descriptor and, at the
    deadline, shuts the connection down through it: every read then ends at
    once, whoever is blocked in it, and the driver raises its own error. A
    connection watched after the deadline is shut down at once.

    Use it as a context manager around the driver's work; `watch` each
    connection once it exists, and `forget` it when it is closed (the
    duplicate would keep the connection open)."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self._lock = threading.Lock()
        self._watched: dict[int, socket.socket] = {}
        self._tokens = itertools.count(1)
        self._fired = False
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Watchdog:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Watchdog:
        self._timer = threading.Timer(max(0.0, self.deadline.remaining()), self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stand down, and let go of every connection still watched."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            for duplicate in self._watched.values():
                duplicate.close()
            self._watched.clear()

    @property
    def fired(self) -> bool:
        """The deadline came and the watched connections were shut down."""
        return self._fired

    def watch(self, connection: socket.socket | int) -> int:
        """Watch a connected socket (or its descriptor); a token for `forget`,
        or 0 when the descriptor is gone already."""
        fileno = connection if isinstance(connection, int) else connection.fileno()
        if fileno < 0:
            return 0
        try:
            copy = os.dup(fileno)
        except OSError:
            return 0
        try:
            duplicate = socket.socket(fileno=copy)
        except OSError:
            os.close(copy)
            return 0
        with self._lock:
            if self._fired:
                _shut(duplicate)
                duplicate.close()
                return 0
            token = next(self._tokens)
            self._watched[token] = duplicate
        return token

    def forget(self, token: int) -> None:
        with self._lock:
            duplicate = self._watched.pop(token, None)
        if duplicate is not None:
            duplicate.close()

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            for duplicate in self._watched.values():
                _shut(duplicate)


def _shut(duplicate: socket.socket) -> None:
    # Shutdown acts on the connection, not the descriptor: the owner's reads end too.
    with contextlib.suppress(OSError):
        duplicate.shutdown(socket.SHUT_RDWR)


class Broken(Exception):
    """A conversation with a target that cannot go on; `reason` says why in
    our own words, never the target's (which may echo what we sent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """A port a probe talks to itself, in plaintext or over TLS, within the
    probe's bounds (`ctx.timeout` a read, `deadline` in all)."""

    address: str
    port: int
    tls: bool
    ctx: ProbeContext
    deadline: Deadline


def bracketed(address: str) -> str:
    """An address as a URL or a driver wants it: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address


def socket_problem(exc: OSError) -> str:
    """A socket failure in a few words of our own."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({clean(exc.reason or type(exc).__name__, 40)})"
    return clean(exc.strerror or type(exc).__name__, 60)


@dataclass(frozen=True)
class LineReply:
    """The first line a port answered to one plaintext request, or why none came."""

    line: bytes | None
    problem: str = ""

    def describe(self) -> str:
        if self.line is None:
            return self.problem
        return f"answered {clean(self.line)!r}" if self.line.strip() else "answered an empty line"


def exchange_line(
    address: str, port: int, request: bytes, timeout: float, deadline: Deadline
) -> LineReply:
    """Send one request on a fresh connection and read one bounded reply line."""
    try:
        with socket.create_connection((address, port), timeout=deadline.timeout(timeout)) as sock:
            sock.sendall(request)
            data = b""
            while b"\n" not in data and len(data) < LINE_BYTES:
                sock.settimeout(deadline.timeout(timeout))
                chunk = sock.recv(LINE_BYTES - len(data))
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return LineReply(None, socket_problem(exc))
    if not data:
        return LineReply(None, "closed the connection without an answer")
    return LineReply(data.split(b"\n", 1)[0].rstrip(b"\r"))


def receive_exactly(conn: socket.socket, size: int, deadline: float) -> bytes:
    """`size` bytes, each read under the socket's timeout and all of them
    before `deadline` (on the monotonic clock), so a peer dripping bytes is
    cut off; a peer that closes first raises ConnectionResetError."""
    data = b""
    while len(data) < size:
        if time.monotonic() > deadline:
            raise TimeoutError("reply too slow")  # a server dripping bytes
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("closed mid-message")
        data += chunk
    return data


def unverified_tls() -> ssl.SSLContext:
    """A client context that verifies neither the certificate nor the name:
    an audit must reach servers with self-signed certificates."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def any_tls() -> ssl.SSLContext:
    """An unverified context that also allows every protocol version and
    cipher the library has: whether the port speaks TLS at all, weak or not."""
    context = unverified_tls()
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    # An OpenSSL without security levels keeps its default ciphers.
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def tls_socket(sock: socket.socket) -> ssl.SSLSocket:
    """Wrap a connected socket in TLS without verifying the peer (we audit it)."""
    return any_tls().wrap_socket(sock)


def handshake(address: str, port: int, timeout: float, context: ssl.SSLContext) -> str:
    """The protocol version a TLS handshake on the port agreed on. Raises
    `ssl.SSLError` when the peer does not complete one, `OSError` when the
    connection fails."""
    with (
        socket.create_connection((address, port), timeout=timeout) as raw,
        context.wrap_socket(raw) as tls,
    ):
        return str(tls.version())
