"""Talking to a port ourselves: one deadline for a whole probe, reads
bounded in bytes and time, and a session that breaks said in a few words of
our own (never the target's). `transport` asks what the port speaks.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from scanner import __version__
from scanner.probes import ProbeContext
from scanner.probes.evidence import clean
from scanner.probes.store_report import Container

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


class Broken(Exception):
    """A conversation with a target that cannot go on; `reason` says why in
    our own words, never the target's (which may echo what we sent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_session(
    read: Callable[[], list[Container]], close: Callable[[], None], gaps: list[str]
) -> list[Container]:
    """What `read()` found, the session closed after it; a session that broke
    on the way is a gap, and nothing found."""
    try:
        return read()
    except Broken as exc:
        gaps.append(f"the session ended: {exc.reason}")
        return []
    finally:
        close()


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
