"""Redis: does it answer without a password, does it speak TLS or plaintext,
and which key patterns hold personal data (with record counts).

TLS and plaintext are read at the socket level (a TLS handshake; an inline
`PING`), because a driver hides what the port itself accepts. The session
then goes through redis-py over whichever the port speaks, on a socket that
bounds every reply (`ProbeContext.max_bytes`) and every read (the per-read
timeout and the probe's time budget). Only read commands run: `INFO
keyspace`, `SCAN ... COUNT` (never `KEYS *`), `TYPE`, `HLEN`/`HKEYS`/`HSCAN`
for hash field names; values (`HGET`, `GETRANGE` after `STRLEN`, a few set,
list and sorted-set members) are read only with `--inspect-data`, and go
straight to the personal-data detectors, which mask them.

Redis error replies can echo a command's arguments (`unknown command 'AUTH',
with args beginning with: ...`), so evidence is built here from the reply's
error code and never from a server or driver message.

The key-pattern grouping, the TLS handshake and the evidence cleaning below
are shared with the Memcached probe.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from redis.backoff import NoBackoff
from redis.connection import Connection, SSLConnection
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

from scanner import pii
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

STORE = "redis"
MAX_DATABASES = 16  # db0..db15: Redis's default, and our bound on SELECT
SCAN_COUNT = 100  # SCAN's COUNT hint: keys per round trip
SCAN_ROUNDS_PER_PAGE = 10  # round trips allowed per SCAN_COUNT keys wanted
FIELD_KEYS = 3  # keys per pattern whose hash field names are read
MAX_FIELDS = 64  # field names kept per key pattern
HKEYS_LIMIT = 200  # HKEYS on a hash this small; one HSCAN page on a bigger one
VALUE_BYTES = 1024  # bytes of one value handed to the detectors
JSON_BYTES = 8192  # a string this small is read whole, to see if it is a JSON object
LINE_BYTES = 512  # a banner or status line
EVIDENCE_CHARS = 80  # characters of a target's reply quoted in evidence
_REPLY_OVERHEAD = 64  # RESP framing around one reply in a batch


# --- shared with the Memcached probe ---------------------------------------------


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


def clean(data: bytes | str, limit: int = EVIDENCE_CHARS) -> str:
    """A target's bytes made fit for evidence: decoded, control and format
    characters (terminal escapes, bidi overrides) dropped, whitespace
    collapsed, cut to `limit` characters."""
    text = data[: limit * 4].decode("utf-8", "replace") if isinstance(data, bytes) else data
    kept = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text[: limit * 4]
    )
    shown = " ".join(kept.split())
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Belt and braces: no password we tried survives in a string we report,
    even if a target echoed it into a key name. Passwords shorter than four
    characters are left alone: masking every `a` would mangle the evidence."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def scrub_report(report: StoreReport, secrets: Sequence[str]) -> StoreReport:
    if not any(len(s) >= 4 for s in secrets):
        return report
    return replace(
        report,
        auth_evidence=scrub(report.auth_evidence, secrets),
        tls_evidence=scrub(report.tls_evidence, secrets),
        gaps=tuple(scrub(g, secrets) for g in report.gaps),
        containers=tuple(
            replace(
                c,
                name=scrub(c.name, secrets),
                fields=tuple(replace(f, name=scrub(f.name, secrets)) for f in c.fields),
            )
            for c in report.containers
        ),
    )


def _tls_context() -> ssl.SSLContext:
    # An audit wants to know whether the port speaks TLS at all, weak or not:
    # no verification, every protocol version and cipher the library allows.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    # An OpenSSL without security levels keeps its default ciphers.
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def tls_socket(sock: socket.socket) -> ssl.SSLSocket:
    """Wrap a connected socket in TLS without verifying the peer (we audit it)."""
    return _tls_context().wrap_socket(sock)


def tls_handshake(address: str, port: int, timeout: float) -> tuple[Tristate, str]:
    """Whether a TLS handshake on the port succeeds, and what happened."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw:
            raw.settimeout(timeout)
            with tls_socket(raw) as tls:
                return Tristate.YES, f"a TLS handshake succeeded ({tls.version()})"
    except ssl.SSLError as exc:
        reason = clean(exc.reason or type(exc).__name__, 40)
        return Tristate.NO, f"no TLS: the handshake failed ({reason})"
    except TimeoutError:
        return Tristate.NO, f"no TLS: no handshake reply within {timeout:g}s"
    except OSError as exc:
        return Tristate.UNKNOWN, f"TLS handshake: {socket_problem(exc)}"


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


# Parts of a key that vary per record: numbers, long hex or mixed tokens,
# UUIDs, e-mail addresses (which would also put personal data in a pattern).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[^\s:/@]+@[^\s:/@]+")
_SEPARATORS = re.compile(r"([:_\-.])")
_HEX = re.compile(r"[0-9a-fA-F]+")
_TOKEN = re.compile(r"[0-9A-Za-z+/=]+")
_PATTERN_CHARS = 120


def _variable(segment: str) -> bool:
    if not segment.isascii():
        return False
    if segment.isdigit():
        return True
    has_digit = any(c.isdigit() for c in segment)
    if len(segment) >= 8 and has_digit and _HEX.fullmatch(segment):
        return True
    # Session tokens and base64 ids: long, letters and digits mixed.
    return (
        len(segment) >= 16
        and has_digit
        and any(c.isalpha() for c in segment)
        and _TOKEN.fullmatch(segment) is not None
    )


def key_pattern(key: bytes | str) -> str:
    """`customer:17` -> `customer:*`: the variable segments between `:`, `_`,
    `-` and `.` replaced by `*`."""
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
    text = _EMAIL.sub("*", _UUID.sub("*", text[:1024]))
    parts = _SEPARATORS.split(text)
    # split() with a group alternates segments (even) and separators (odd).
    joined = "".join("*" if i % 2 == 0 and _variable(p) else p for i, p in enumerate(parts))
    return clean(joined, _PATTERN_CHARS)


def field_of(pattern: str) -> str:
    """The field a string key pattern names: its last fixed segment
    (`user:*:email` -> `email`), or the pattern itself."""
    for segment in reversed(_SEPARATORS.split(pattern)[::2]):
        if segment and "*" not in segment:
            return segment
    return pattern


@dataclass
class KeyTally:
    """Keys seen, grouped by pattern: a count each and the first few raw keys."""

    keep: int
    counts: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[bytes]] = field(default_factory=dict)
    visited: int = 0
    complete: bool = False  # every key was visited (SCAN's cursor came back to 0)

    def add(self, key: bytes) -> None:
        self.visited += 1
        pattern = key_pattern(key)
        self.counts[pattern] = self.counts.get(pattern, 0) + 1
        kept = self.samples.setdefault(pattern, [])
        if len(kept) < self.keep:
            kept.append(key)

    def largest(self, limit: int) -> list[str]:
        """Patterns by how many keys they matched, most first."""
        return sorted(self.counts, key=lambda p: (-self.counts[p], p))[:limit]


def estimate(seen: int, visited: int, total: int | None) -> int:
    """A pattern's records: the keys seen, scaled up when only part of the
    keyspace was visited."""
    if total is None or visited <= 0 or visited >= total:
        return seen
    return round(seen * total / visited)


def _scalar_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:VALUE_BYTES]
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))[:VALUE_BYTES]


def json_object(text: str) -> dict[str, Any] | None:
    """The value as a JSON object, if it is one (small values only)."""
    if len(text) > JSON_BYTES or not text.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def summarise_values(
    pattern: str, values: Sequence[str] | None, names: Sequence[str] = ()
) -> tuple[FieldReport, ...]:
    """Field reports for a key pattern. `names` are field names read from
    the store (hash fields); without them, values that are JSON objects give
    their top-level keys as fields, and the rest belong to the field the
    pattern names. `values` is None without --inspect-data."""
    if names:
        return tuple(pii.summarise_field(n, pattern, ()) for n in names[:MAX_FIELDS])
    plain: list[str] = []
    by_key: dict[str, list[str]] = {}
    for value in values or ():
        parsed = json_object(value)
        if parsed is None:
            plain.append(value[:VALUE_BYTES])
            continue
        for key, item in list(parsed.items())[:MAX_FIELDS]:
            text = _scalar_text(item)
            samples = by_key.setdefault(clean(str(key), 60), [])
            if text is not None:
                samples.append(text)
    reports = [
        pii.summarise_field(name, pattern, samples)
        for name, samples in list(by_key.items())[:MAX_FIELDS]
    ]
    if plain or not reports:
        reports.insert(0, pii.summarise_field(field_of(pattern), pattern, plain))
    return tuple(reports)


def credential_attempts(
    store: str, address: str, port: int, ctx: ProbeContext
) -> list[StoreCredential]:
    """The user's credentials for this store, then (if asked) the vendor defaults."""
    attempts = list(ctx.credentials_for(store, address, port))
    if ctx.try_default_credentials:
        attempts += [c for c in DEFAULTS if c.store == store]
    return attempts


def auth_for(credential: StoreCredential) -> Auth:
    return Auth.DEFAULT_CREDENTIALS if credential.source == "default" else Auth.SUPPLIED_CREDENTIALS


def applies(service: Service) -> bool:
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.name == "redis" or service.product.startswith("Redis"))
    )


# --- a bounded redis-py connection ------------------------------------------------


class _Lost(Exception):
    """The connection is gone or out of step; `reason` is ours, never the
    server's words. `code` is the error code when the server itself ended it
    (redis-py drops the connection on -NOAUTH and -WRONGPASS)."""

    def __init__(self, reason: str, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
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


class _Link:
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
            raise _Lost("connection lost")
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
            raise _Lost(self._why(exc), clean(code, 20)) from None
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


def _error_code(exc: BaseException) -> str:
    """A Redis error reply's code (`WRONGPASS`), never its message."""
    code = getattr(exc, "status_code", None)
    if not code:
        words = str(exc).split(" ", 1)
        code = words[0] if words[0].isupper() else "ERR"
    return clean(code, 20)


@dataclass(frozen=True)
class _Target:
    address: str
    port: int
    tls: bool
    ctx: ProbeContext
    deadline: Deadline

    def open(self) -> _Link:
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
            raise _Lost(
                "timed out" if "Timeout" in type(exc).__name__ else "no connection"
            ) from None
        return _Link(conn, guard, self.ctx.max_bytes)


# --- logging in ------------------------------------------------------------------


@dataclass(frozen=True)
class _Login:
    auth: Auth
    evidence: str
    credential: StoreCredential | None = None
    link: _Link | None = None


def _authenticate(link: _Link, credential: StoreCredential) -> str:
    """AUTH [username] password on the link: "" on success, else the reply's code."""
    args: list[str] = ["AUTH", credential.password]
    if credential.username:
        args.insert(1, credential.username)
    try:
        link.call(*args)
        return ""
    except _Lost as lost:
        if lost.code:
            return lost.code
        raise
    except ResponseError as exc:
        code = _error_code(exc)
        if credential.username and "wrong number of arguments" in str(exc):
            # Redis before 6 has no users: AUTH takes the password alone.
            return _authenticate(link, replace(credential, username=""))
        return code


def _try_credentials(
    target: _Target, attempts: Sequence[StoreCredential], said: list[str]
) -> _Login | None:
    for credential in attempts:
        if target.deadline.expired:
            said.append("the time budget ran out")
            break
        try:
            link = target.open()
        except _Lost as lost:
            said.append(f"AUTH with {credential.label}: {lost.reason}")
            continue
        try:
            refused = _authenticate(link, credential)
            if not refused:
                link.call("PING")
                evidence = f"AUTH with {credential.label} accepted"
                return _Login(auth_for(credential), evidence, credential, link)
            said.append(f"AUTH with {credential.label}: -{refused}")
        except _Lost as lost:
            said.append(f"AUTH with {credential.label}: {lost.reason}")
        except ResponseError as exc:
            said.append(f"AUTH with {credential.label}: PING then -{_error_code(exc)}")
        link.close()
    return None


def _login(target: _Target, ctx: ProbeContext) -> _Login:
    over = " over TLS" if target.tls else ""
    try:
        link = target.open()
    except _Lost as lost:
        return _Login(Auth.UNKNOWN, f"no session{over}: {lost.reason}")
    try:
        reply = link.call("PING")
    except _Lost as lost:
        if not lost.code:
            return _Login(Auth.UNKNOWN, f"PING{over} without AUTH: {lost.reason}")
        code = lost.code
    except ResponseError as exc:
        code = _error_code(exc)
        link.close()
    else:
        if reply in (b"PONG", "PONG", True):
            return _Login(Auth.NONE, f"PING{over} without AUTH answered +PONG", link=link)
        link.close()
        return _Login(Auth.UNKNOWN, f"PING{over} without AUTH answered {clean(repr(reply))}")
    said = [f"PING{over} without AUTH answered -{code}"]
    if code == "DENIED":
        # Protected mode: no password set, and only loopback clients let in.
        return _Login(Auth.REQUIRED, said[0] + " (protected mode: loopback clients only)")
    if code not in ("NOAUTH", "WRONGPASS", "NOPERM", "ERR"):
        return _Login(Auth.UNKNOWN, said[0])
    attempts = credential_attempts(STORE, target.address, target.port, ctx)
    found = _try_credentials(target, attempts, said)
    if found is not None:
        return replace(found, evidence=f"{said[0]}; {found.evidence}")
    if not attempts:
        said.append("no credentials to try (--credentials, --try-default-credentials)")
    return _Login(Auth.REQUIRED, "; ".join(said[:8]))


# --- reading the keyspace ------------------------------------------------------------

_KEYSPACE_LINE = re.compile(r"^db(\d+):keys=(\d+)", re.MULTILINE)


def _text(reply: object) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply) if reply is not None else ""


def keyspace(info: str) -> dict[int, int]:
    """Keys per database from INFO keyspace (`db0:keys=350,expires=0,...`)."""
    return {
        int(db): int(keys)
        for db, keys in _KEYSPACE_LINE.findall(info)
        if int(db) < MAX_DATABASES and int(keys) > 0
    }


@dataclass
class _Reader:
    """The inventory of one logged-in session, with what it could not read."""

    target: _Target
    link: _Link
    credential: StoreCredential | None
    ctx: ProbeContext
    gaps: list[str] = field(default_factory=list)
    db: int = 0
    alive: bool = True
    tally_samples: dict[str, list[bytes]] = field(default_factory=dict)

    def reopen(self) -> bool:
        """A fresh link after a lost one, logged in and in the same database."""
        self.link.close()
        try:
            link = self.target.open()
            if self.credential is not None and _authenticate(link, self.credential):
                return False
            if self.db:
                link.call("SELECT", self.db)
        except (_Lost, ResponseError):
            return False
        self.link = link
        return True

    def select(self, db: int) -> bool:
        if db == self.db:
            return True
        try:
            self.link.call("SELECT", db)
        except ResponseError as exc:
            self.gaps.append(f"db{db}: SELECT answered -{_error_code(exc)}")
            return False
        self.db = db
        return True

    def scan(self, db: int, quota: int) -> KeyTally:
        """Up to `quota` distinct keys of the selected database, by SCAN."""
        keep = max(FIELD_KEYS, self.ctx.sample_size if self.ctx.inspect_data else 0)
        tally = KeyTally(keep)
        seen: set[bytes] = set()
        cursor = b"0"
        # SCAN may return empty pages; a peer could return them forever.
        rounds = SCAN_ROUNDS_PER_PAGE * (quota // SCAN_COUNT + 1)
        for _ in range(rounds):
            if tally.visited >= quota or self.target.deadline.expired:
                return tally
            count = min(SCAN_COUNT, quota - tally.visited)
            reply = self.link.call("SCAN", cursor, "COUNT", count)
            if not (
                isinstance(reply, list)
                and len(reply) == 2
                and isinstance(reply[0], bytes)
                and reply[0].isdigit()
                and isinstance(reply[1], list)
            ):
                self.gaps.append(f"db{db}: SCAN answered something that is not a cursor")
                return tally
            cursor = reply[0]
            for key in reply[1]:
                if isinstance(key, bytes) and key not in seen and tally.visited < quota:
                    seen.add(key)
                    tally.add(key)
            if cursor == b"0":
                tally.complete = True
                return tally
        self.gaps.append(f"db{db}: SCAN was still going after {rounds} round trips")
        return tally


def _hash_fields(reader: _Reader, keys: Sequence[bytes]) -> dict[str, bytes]:
    """Field names of a few hashes of the pattern: shown name -> raw name."""
    sizes = reader.link.batch([("HLEN", k) for k in keys])
    names: dict[str, bytes] = {}
    for key, size in zip(keys, sizes, strict=True):
        if not isinstance(size, int):
            continue
        if size <= HKEYS_LIMIT:
            reply = reader.link.call("HKEYS", key)
            found = reply if isinstance(reply, list) else []
        else:
            # One page of a big hash: field names, never the whole of it.
            reply = reader.link.call("HSCAN", key, 0, "COUNT", HKEYS_LIMIT)
            pairs = reply[1] if isinstance(reply, list) and len(reply) == 2 else []
            found = pairs[::2] if isinstance(pairs, list) else []
        for name in found:
            if isinstance(name, bytes) and len(names) < MAX_FIELDS:
                names.setdefault(clean(name, 60), name)
    return names


def _hash_values(
    reader: _Reader, keys: Sequence[bytes], names: dict[str, bytes]
) -> dict[str, list[str]]:
    """Up to sample_size values per hash field, each checked with HSTRLEN first."""
    pairs = [
        (k, shown, raw) for k in keys[: reader.ctx.sample_size] for shown, raw in names.items()
    ]
    sizes = reader.link.batch([("HSTRLEN", k, raw) for k, _, raw in pairs])
    small = [
        (pair, size)
        for pair, size in zip(pairs, sizes, strict=True)
        if isinstance(size, int) and 0 < size <= VALUE_BYTES
    ]
    cap = sum(size + _REPLY_OVERHEAD for _, size in small)
    replies = reader.link.batch([("HGET", k, raw) for (k, _, raw), _ in small], cap)
    values: dict[str, list[str]] = {}
    for ((_, shown, _), _), reply in zip(small, replies, strict=True):
        if isinstance(reply, bytes):
            values.setdefault(shown, []).append(reply.decode("utf-8", "replace"))
    return values


def _string_values(reader: _Reader, keys: Sequence[bytes]) -> list[str]:
    """Values of string keys: STRLEN first, then at most JSON_BYTES of each
    (the whole of a small one, so a JSON object parses) with GETRANGE."""
    keys = keys[: reader.ctx.sample_size]
    sizes = reader.link.batch([("STRLEN", k) for k in keys])
    reads = [
        (key, size if size <= JSON_BYTES else VALUE_BYTES)
        for key, size in zip(keys, sizes, strict=True)
        if isinstance(size, int) and size > 0
    ]
    cap = sum(n + _REPLY_OVERHEAD for _, n in reads)
    replies = reader.link.batch([("GETRANGE", k, 0, n - 1) for k, n in reads], cap)
    return [r.decode("utf-8", "replace") for r in replies if isinstance(r, bytes)]


_MEMBERS = {
    "set": lambda key, n: ("SRANDMEMBER", key, n),
    "list": lambda key, n: ("LRANGE", key, 0, n - 1),
    "zset": lambda key, n: ("ZRANGE", key, 0, n - 1),
}


def _member_values(reader: _Reader, kind: str, keys: Sequence[bytes]) -> list[str]:
    """A few members of sets, lists and sorted sets (bounded by the reply cap)."""
    make: Callable[[bytes, int], Command] = _MEMBERS[kind]
    values: list[str] = []
    if reader.ctx.sample_size < 1:
        return values  # LRANGE key 0 -1 would be the whole list
    for key in keys[:FIELD_KEYS]:
        reply = reader.link.call(*make(key, reader.ctx.sample_size))
        if isinstance(reply, list):
            values += [
                m[:VALUE_BYTES].decode("utf-8", "replace") for m in reply if isinstance(m, bytes)
            ]
        if len(values) >= reader.ctx.sample_size:
            break
    return values[: reader.ctx.sample_size]


def _pattern_fields(
    reader: _Reader, pattern: str, kind: str, keys: Sequence[bytes]
) -> tuple[FieldReport, ...]:
    inspect = reader.ctx.inspect_data
    if kind == "hash":
        names = _hash_fields(reader, keys[:FIELD_KEYS])
        if not inspect:
            return summarise_values(pattern, None, list(names))
        values = _hash_values(reader, keys, names)
        return tuple(pii.summarise_field(n, pattern, values.get(n, [])) for n in names)
    if not inspect:
        return summarise_values(pattern, None)
    if kind == "string":
        return summarise_values(pattern, _string_values(reader, keys))
    if kind in _MEMBERS:
        return summarise_values(pattern, _member_values(reader, kind, keys))
    return summarise_values(pattern, None)  # streams, module types: names only


def _pattern_container(
    reader: _Reader, name: str, pattern: str, kind: str, records: int
) -> Container:
    if not reader.alive or reader.target.deadline.expired:
        return Container(name, "key-pattern", records)
    try:
        fields = _pattern_fields(reader, pattern, kind, reader.tally_samples[pattern])
    except _Lost as lost:
        reader.gaps.append(f"{name}: reading it stopped: {lost.reason}")
        reader.alive = reader.reopen()
        fields = ()
    except ResponseError as exc:
        reader.gaps.append(f"{name}: -{_error_code(exc)}")
        fields = ()
    return Container(name, "key-pattern", records, fields)


def _database(
    reader: _Reader, db: int, total: int | None, quota: int, room: int
) -> tuple[list[Container], int]:
    """The key patterns of one database, and how many keys were visited."""
    tally = reader.scan(db, quota)
    if not tally.complete:
        of = f" of {total:,}" if total is not None else ""
        reader.gaps.append(
            f"db{db}: visited {tally.visited:,}{of} keys (--max-keys or the time budget); "
            + ("key-pattern record counts are estimated from them" if of else "counts are partial")
        )
    # Scaled up to the keyspace size only when the scan stopped short.
    total = None if tally.complete else total
    patterns = tally.largest(room)
    if len(tally.counts) > room:
        reader.gaps.append(f"db{db}: {len(tally.counts) - room} more key pattern(s) not listed")
    reader.tally_samples = tally.samples
    kinds = reader.link.batch([("TYPE", tally.samples[p][0]) for p in patterns])
    containers = [
        _pattern_container(
            reader,
            f"db{db} {pattern}",
            pattern,
            _text(kind).lower(),
            estimate(tally.counts[pattern], tally.visited, total),
        )
        for pattern, kind in zip(patterns, kinds, strict=True)
    ]
    return containers, tally.visited


def _totals(reader: _Reader) -> dict[int, int | None]:
    try:
        return dict(keyspace(_text(reader.link.call("INFO", "keyspace"))))
    except ResponseError as exc:
        reader.gaps.append(f"INFO keyspace answered -{_error_code(exc)}; scanning db0 only")
        return {0: None}


def _stop_reason(reader: _Reader, room: int, quota: int) -> str:
    """Why the next database is not read, or "" to read it."""
    if reader.target.deadline.expired:
        return f"the {reader.ctx.time_budget:g}s time budget ran out"
    if not reader.alive:
        return "the session ended"
    if room <= 0:
        return "--max-containers was reached"
    return "--max-keys was reached" if quota <= 0 else ""


def _inventory(reader: _Reader) -> list[Container]:
    ctx = reader.ctx
    totals = _totals(reader)
    containers: list[Container] = []
    quota = ctx.max_keys
    for index, (db, total) in enumerate(sorted(totals.items())):
        room = ctx.max_containers - len(containers)
        why = _stop_reason(reader, room, quota)
        if why:
            reader.gaps.append(f"stopped before db{db}: {why}")
            break
        # Share what is left of --max-keys fairly among the databases to come.
        share = max(1, quota // (len(totals) - index))
        if not reader.select(db):
            continue
        try:
            found, visited = _database(reader, db, total, share, room)
        except ResponseError as exc:
            reader.gaps.append(f"db{db}: -{_error_code(exc)}")
            continue
        except _Lost as lost:
            reader.gaps.append(f"db{db}: reading it stopped: {lost.reason}")
            reader.alive = reader.reopen()
            continue
        quota = max(0, quota - visited)
        containers += found
    if reader.target.deadline.expired:
        reader.gaps.append(
            f"the {ctx.time_budget:g}s time budget ran out; the inventory is partial"
        )
    return containers


# --- the probe -----------------------------------------------------------------


def plaintext_answer(reply: LineReply) -> Tristate:
    """Whether a plaintext PING got a Redis answer (+PONG, or an error reply
    such as -NOAUTH or -DENIED)."""
    line = reply.line or b""
    if line.startswith(b"+PONG"):
        return Tristate.YES
    code = line[1:].split(b" ", 1)[0]
    if line.startswith(b"-") and code.isupper() and code.isalpha():
        return Tristate.YES
    return Tristate.NO


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    deadline = Deadline.after(ctx.time_budget)
    ping = exchange_line(address, port, b"PING\r\n", ctx.timeout, deadline)
    plaintext = plaintext_answer(ping)
    if plaintext is Tristate.YES:
        # Redis serves TLS on a port of its own (tls-port), never beside
        # plaintext on one port; and a handshake would only time out, since
        # Redis waits for a newline the ClientHello's NUL bytes hide.
        offered, tls_said = Tristate.NO, "no TLS: the port speaks Redis in plaintext"
    else:
        offered, tls_said = tls_handshake(address, port, deadline.timeout(ctx.timeout))
    tls_evidence = f"{tls_said}; a plaintext PING {ping.describe()}"
    if plaintext is Tristate.NO and offered is not Tristate.YES:
        # Neither plaintext Redis nor TLS: not something we can talk to.
        return StoreReport(
            STORE,
            Auth.UNKNOWN,
            f"no Redis answer: a plaintext PING {ping.describe()}",
            offered,
            Tristate.UNKNOWN,
            tls_evidence,
        )
    target = _Target(address, port, plaintext is not Tristate.YES, ctx, deadline)
    login = _login(target, ctx)
    secrets = [c.password for c in credential_attempts(STORE, address, port, ctx)]
    base = StoreReport(STORE, login.auth, login.evidence, offered, plaintext, tls_evidence)
    if login.link is None:
        return scrub_report(base, secrets)
    reader = _Reader(target, login.link, login.credential, ctx)
    try:
        containers = _inventory(reader)
    except _Lost as lost:
        containers = []
        reader.gaps.append(f"the session ended: {lost.reason}")
    finally:
        reader.link.close()
    identity = ""
    if login.credential is not None:
        identity = login.credential.username or "default"
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
