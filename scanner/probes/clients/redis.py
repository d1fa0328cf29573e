"""A redis-py connection bounded in bytes and time, for the Redis probe.

Every reply (or batch of replies) is read under a byte allowance
(`ProbeContext.max_bytes`) and every read under the per-read timeout cut
short by the probe's deadline: the socket itself enforces both, below
redis-py. A lost connection stays lost (redis-py would reconnect and drop
our AUTH and SELECT), and what went wrong is said in our words or as the
reply's error code, never the server's message, which can echo a command's
arguments (`AUTH`'s would be the password).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from redis.backoff import NoBackoff
from redis.connection import Connection, SSLConnection
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

from scanner.probes.clients.wire import Broken, Deadline, Target
from scanner.probes.credentials import StoreCredential
from scanner.probes.evidence import clean

REPLY_OVERHEAD = 64  # RESP framing around one reply in a batch


class Lost(Broken):
    """The connection is gone or out of step. `code` is the error code when
    the server itself ended it (redis-py drops the connection on -NOAUTH and
    -WRONGPASS)."""

    def __init__(self, reason: str, code: str = "") -> None:
        super().__init__(reason)
        self.code = code


class _Guard:
    """Bounds the reads of one connection: a byte allowance per reply (or
    batch of replies), and every read's timeout cut short by the deadline."""

    def __init__(self, deadline: Deadline, timeout: float) -> None:
        self.deadline = deadline
        self.timeout = timeout
        self.allowed = self.left = 0
        self.overflow = False

    def allow(self, nbytes: int) -> None:
        self.allowed = self.left = nbytes
        self.overflow = False

    def read_timeout(self) -> float:
        if self.deadline.expired:
            raise TimeoutError("time budget spent")
        return self.deadline.timeout(self.timeout)

    def took(self, nbytes: int) -> None:
        self.left -= nbytes
        if self.left < 0:
            self.overflow = True
            raise OSError("reply over the byte cap")


class _GuardedSocket:
    """A socket whose reads the guard bounds; everything else is the socket's."""

    def __init__(self, sock: socket.socket, guard: _Guard) -> None:
        self._sock = sock
        self._guard = guard

    def recv(self, size: int, flags: int = 0) -> bytes:
        self._sock.settimeout(self._guard.read_timeout())
        data = self._sock.recv(max(1, min(size, self._guard.left + 1)), flags)
        self._guard.took(len(data))
        return data

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._sock.settimeout(self._guard.read_timeout())
        limit = max(1, min(nbytes or len(buffer), self._guard.left + 1))
        count = self._sock.recv_into(buffer, limit, flags)
        self._guard.took(count)
        return count

    def settimeout(self, value: float | None) -> None:
        # redis-py sets its own timeouts; every read sets the guard's instead.
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _PlainConnection(Connection):
    guard: _Guard

    def _connect(self) -> Any:
        return _GuardedSocket(super()._connect(), self.guard)  # type: ignore[no-untyped-call]


class _TlsConnection(SSLConnection):
    guard: _Guard

    def _connect(self) -> Any:
        return _GuardedSocket(super()._connect(), self.guard)  # type: ignore[no-untyped-call]


Command = tuple[bytes | str | int, ...]


class Link:
    """One connection: commands and batches of commands, each reply bounded."""

    def __init__(self, conn: Connection, guard: _Guard, cap: int) -> None:
        self._conn = conn
        self._guard = guard
        self.cap = cap

    def call(self, *args: bytes | str | int, cap: int | None = None) -> object:
        (reply,) = self.batch([args], cap)
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    def batch(self, commands: Sequence[Command], cap: int | None = None) -> list[object]:
        """Send the commands in one write and read every reply; an error reply
        stands in its command's place as a ResponseError."""
        if not commands:
            return []
        # redis-py reconnects on its own when its socket is gone, which would
        # drop our AUTH and SELECT: a lost connection stays lost.
        if not self._conn.is_connected:
            raise Lost("connection lost")
        self._guard.allow(cap if cap is not None else self.cap)
        replies: list[object] = []
        try:
            packed = self._conn.pack_commands(commands)  # type: ignore[no-untyped-call]
            self._conn.send_packed_command(packed, check_health=False)  # type: ignore[no-untyped-call]
            for _ in commands:
                try:
                    replies.append(self._conn.read_response())
                except ResponseError as exc:
                    replies.append(exc)
        except (RedisError, OSError) as exc:
            self.close()
            code = getattr(exc, "status_code", None) or ""
            raise Lost(self._why(exc), clean(code, 20)) from None
        return replies

    def _why(self, exc: BaseException) -> str:
        if self._guard.overflow:
            return f"a reply over {self._guard.allowed:,} bytes"
        if self._guard.deadline.expired:
            return "the time budget ran out"
        code = getattr(exc, "status_code", None)
        if code:
            return f"-{clean(code, 20)}"
        if "Timeout" in type(exc).__name__:
            return "timed out"
        return "connection closed or reset"

    def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            self._conn.disconnect()  # type: ignore[no-untyped-call]


def error_code(exc: BaseException) -> str:
    """A Redis error reply's code (`WRONGPASS`), never its message."""
    code = getattr(exc, "status_code", None)
    if not code:
        words = str(exc).split(" ", 1)
        code = words[0] if words[0].isupper() else "ERR"
    return clean(code, 20)


class RedisTarget(Target):
    def open(self) -> Link:
        """A connected link (nothing sent yet)."""
        guard = _Guard(self.deadline, self.ctx.timeout)
        options: dict[str, Any] = {
            "host": self.address,
            "port": self.port,
            "socket_timeout": self.ctx.timeout,
            "socket_connect_timeout": self.deadline.timeout(self.ctx.timeout),
            "socket_keepalive": False,
            # RESP2: servers before Redis 6 know no HELLO; no CLIENT SETINFO,
            # no retries (a retry would hide what the target did).
            "protocol": 2,
            "driver_info": None,
            "retry": Retry(NoBackoff(), 0),
        }
        conn: _TlsConnection | _PlainConnection
        if self.tls:
            conn = _TlsConnection(ssl_cert_reqs="none", ssl_check_hostname=False, **options)
        else:
            conn = _PlainConnection(**options)  # type: ignore[no-untyped-call]
        conn.guard = guard
        try:
            conn.connect()  # type: ignore[no-untyped-call]
        except (RedisError, OSError) as exc:
            raise Lost(
                "timed out" if "Timeout" in type(exc).__name__ else "no connection"
            ) from None
        return Link(conn, guard, self.ctx.max_bytes)


def authenticate(link: Link, credential: StoreCredential) -> str:
    """AUTH [username] password on the link: "" on success, else the reply's code."""
    args: list[str] = ["AUTH", credential.password]
    if credential.username:
        args.insert(1, credential.username)
    try:
        link.call(*args)
        return ""
    except Lost as lost:
        if lost.code:
            return lost.code
        raise
    except ResponseError as exc:
        code = error_code(exc)
        if credential.username and "wrong number of arguments" in str(exc):
            # Redis before 6 has no users: AUTH takes the password alone.
            return authenticate(link, replace(credential, username=""))
        return code
