"""MySQL and MariaDB: root with an empty password, TLS in the handshake's
capability flags, and which tables hold personal data (row estimates from
information_schema, which InnoDB keeps from its own statistics).

The TLS capability is read from the server's greeting packet itself, before
any login. Sessions run `START TRANSACTION READ ONLY` with a statement time
limit; values are sampled only with `--inspect-data`, and only to be masked.

A password is never sent as it is over a connection without TLS: a server
that asks for it so (an auth switch to `mysql_clear_password`, or MariaDB's
PAM `dialog`) is refused, and that it asked is reported. Every connection is
watched, so the whole probe ends at its time budget however slowly a server
drips its packets (PyMySQL's timeouts bound each read, not the exchange).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import NoReturn

import pymysql
import pymysql.cursors

from scanner.banners.products import identify
from scanner.model import Host, Observation, Service
from scanner.probes.clients.wire import Deadline, Watchdog, socket_problem, unverified_tls
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.datastores.logins import Attempt, attempts, none_accepted
from scanner.probes.datastores.report import Auth, Container, StoreReport, Tristate, observations
from scanner.probes.datastores.tables import Sampling, by_table
from scanner.probes.evidence import server_message

STORE = "mysql"
_CLIENT_SSL = 0x0800
_MAX_GREETING = 1024
_TEXTUAL = frozenset({"char", "varchar", "text", "tinytext", "mediumtext", "longtext", "json"})
# Users tried without a password: root is the installer's account, and
# anonymous accounts ('' user) exist on old default installations.
EMPTY_PASSWORD_USERS = ("root", "")
STOPPED = "stopped at the time budget"


def applies(service: Service) -> bool:
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.name == "mysql" or identify(service).product in ("mysql", "mariadb"))
    )


@dataclass(frozen=True)
class Greeting:
    version: str
    tls_offered: Tristate
    error: str = ""  # the server refused us before any login (host not allowed)


def read_greeting(address: str, port: int, timeout: float) -> Greeting | None:
    """The initial handshake packet: protocol 10, version, capability flags,
    all of it within `timeout` (a server dripping it byte by byte is cut off)."""
    deadline = Deadline.after(timeout)
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            data = b""
            while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:3], "little"):
                if deadline.expired:
                    return None
                conn.settimeout(deadline.timeout(timeout))
                chunk = conn.recv(_MAX_GREETING - len(data))
                if not chunk or len(data) >= _MAX_GREETING:
                    break
                data += chunk
    except OSError:
        return None
    return parse_greeting(data)


def parse_greeting(data: bytes) -> Greeting | None:
    body = data[4:]
    if not body:
        return None
    if body[0] == 0xFF:  # an error packet: code, then the message
        message = body[3:].lstrip(b"#")[5:] if body[3:4] == b"#" else body[3:]
        return Greeting("", Tristate.UNKNOWN, server_message(message.decode("utf-8", "replace")))
    if body[0] != 10:
        return None
    end = body.find(b"\0", 1)
    if end < 0:
        return None
    version = server_message(body[1:end].decode("utf-8", "replace"))
    # version\0, thread id (4), auth data part 1 (8), filler (1), capabilities low (2)
    flags_at = end + 1 + 4 + 8 + 1
    if len(body) < flags_at + 2:
        return Greeting(version, Tristate.UNKNOWN)
    flags = int.from_bytes(body[flags_at : flags_at + 2], "little")
    return Greeting(version, Tristate.YES if flags & _CLIENT_SSL else Tristate.NO)


def _said(exc: BaseException) -> str:
    args: tuple[object, ...] = exc.args
    if len(args) >= 2 and isinstance(args[1], str):
        return server_message(f"{args[0]}: {args[1]}")
    return server_message(str(exc))


# Auth plugins that send the password as it is (MariaDB's PAM `dialog` sends
# whatever its prompt asks for, the password first of all).
CLEARTEXT_PLUGINS = ("mysql_clear_password", "dialog")


class CleartextRefused(Exception):
    """The server asked for the password in cleartext over a connection
    without TLS; it was not sent."""

    def __init__(self, plugin: str) -> None:
        super().__init__(
            f"the server asked for the password in cleartext ({plugin}) "
            "over an unencrypted connection; not sent"
        )
        self.plugin = plugin


@dataclass(frozen=True)
class _Refuse:
    """An auth plugin handler (PyMySQL's `auth_plugin_map`) that answers a
    cleartext plugin's request by hanging up, before PyMySQL's own handling
    of the plugin (which sends the password) is reached."""

    plugin: str

    def __call__(self, conn: object) -> _Refuse:
        return self  # PyMySQL makes a handler per connection: this one holds nothing

    def authenticate(self, packet: object) -> NoReturn:
        raise CleartextRefused(self.plugin)


_REFUSE_CLEARTEXT = {plugin: _Refuse(plugin) for plugin in CLEARTEXT_PLUGINS}


def _connect(
    address: str,
    port: int,
    user: str,
    password: str,
    use_tls: bool,
    ctx: ProbeContext,
    watchdog: Watchdog,
) -> pymysql.connections.Connection[pymysql.cursors.Cursor]:
    conn: pymysql.connections.Connection[pymysql.cursors.Cursor] = pymysql.connect(
        host=address,
        port=port,
        user=user,
        password=password,
        connect_timeout=ctx.timeout,
        read_timeout=ctx.timeout,
        write_timeout=ctx.timeout,
        # PyMySQL switches to TLS by itself when offered: say which we want.
        ssl=unverified_tls() if use_tls else None,
        ssl_disabled=not use_tls,
        autocommit=True,
        charset="utf8mb4",
        # Over TLS the cleartext plugins are as safe as the session; without, refused.
        auth_plugin_map={} if use_tls else dict(_REFUSE_CLEARTEXT),
        defer_connect=True,  # on a socket of ours, which the watchdog watches
    )
    deadline = watchdog.deadline
    if deadline.expired:
        raise TimeoutError(STOPPED)
    sock = socket.create_connection((address, port), timeout=deadline.timeout(ctx.timeout))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as PyMySQL sets its own
    token = watchdog.watch(sock)
    try:
        conn.connect(sock)
    except BaseException:
        watchdog.forget(token)  # PyMySQL closed the socket: let the connection go
        sock.close()
        raise
    return conn


@dataclass(frozen=True)
class _Login:
    conn: pymysql.connections.Connection[pymysql.cursors.Cursor] | None
    auth: Auth
    evidence: str
    user: str = ""
    cleartext_asked: str = ""  # the server asked for a password in the clear: what it asked


def _login(
    address: str,
    port: int,
    tries: Sequence[Attempt],
    use_tls: bool,
    ctx: ProbeContext,
    watchdog: Watchdog,
) -> _Login:
    said: list[str] = []
    spoke = False
    cleartext = ""
    for attempt in tries:
        who = attempt.user or "(anonymous)"
        if watchdog.deadline.expired:
            said.append(STOPPED)
            break
        try:
            conn = _connect(address, port, attempt.user, attempt.password, use_tls, ctx, watchdog)
        except CleartextRefused as refused:
            spoke = True  # the server asked for a password: it requires one
            cleartext = cleartext or str(refused)
            said.append(f"user {who}: {refused}")
            continue
        except OSError as exc:
            said.append(f"user {who}: {socket_problem(exc)}")
            continue
        except pymysql.err.OperationalError as exc:
            words = _said(exc)
            code = exc.args[0] if exc.args else 0
            # 2000-2999 are the client library's own errors (cannot connect, lost connection).
            spoke = spoke or (isinstance(code, int) and not 2000 <= code < 3000)
            said.append(f"user {who}: {words}")
            continue
        except pymysql.err.MySQLError as exc:
            said.append(f"user {who}: {_said(exc)}")
            continue
        auth, evidence = attempt.accepted(f"logged in as {who} with an empty password")
        return _Login(conn, auth, evidence, who, cleartext)
    return _Login(None, *none_accepted(said, spoke), cleartext_asked=cleartext)


_TABLES = """
SELECT table_schema, table_name, table_rows
FROM information_schema.tables
WHERE table_type = 'BASE TABLE'
  AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
ORDER BY table_rows DESC
LIMIT %s
"""
_COLUMNS = """
SELECT table_schema, table_name, column_name, data_type
FROM information_schema.columns
WHERE table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
ORDER BY table_schema, table_name, ordinal_position
LIMIT 20000
"""


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _sample_query(schema: str, table: str, column: str, limit: int) -> str:
    # The names come from the target's catalogue: every one goes through _quote.
    col, where = _quote(column), f"{_quote(schema)}.{_quote(table)}"
    return f"SELECT {col} FROM {where} WHERE {col} IS NOT NULL LIMIT {int(limit)}"  # noqa: S608


def _sample(
    conn: pymysql.connections.Connection[pymysql.cursors.Cursor],
    schema: str,
    table: str,
    column: str,
    limit: int,
) -> list[object]:
    with conn.cursor() as cursor:
        cursor.execute(_sample_query(schema, table, column, limit))
        return [row[0] for row in cursor.fetchall()]


def _read_only(
    conn: pymysql.connections.Connection[pymysql.cursors.Cursor], ctx: ProbeContext
) -> None:
    with conn.cursor() as cursor:
        # MariaDB and MySQL bound statements differently; either may be absent.
        for statement in (
            f"SET SESSION max_statement_time = {ctx.timeout:g}",
            f"SET SESSION MAX_EXECUTION_TIME = {int(ctx.timeout * 1000)}",
        ):
            try:
                cursor.execute(statement)
            except pymysql.err.MySQLError:
                continue
        cursor.execute("START TRANSACTION READ ONLY")


def _inventory(
    conn: pymysql.connections.Connection[pymysql.cursors.Cursor], ctx: ProbeContext, started: float
) -> tuple[list[Container], list[str]]:
    deadline = started + ctx.time_budget
    gaps: list[str] = []
    _read_only(conn, ctx)
    with conn.cursor() as cursor:
        cursor.execute(_TABLES, (ctx.max_containers,))
        tables = list(cursor.fetchall())
        cursor.execute(_COLUMNS)
        columns = by_table(cursor.fetchall())
    read = partial(_sample, conn, limit=ctx.sample_size)
    sampling = Sampling(ctx, deadline, _TEXTUAL, pymysql.err.MySQLError, _said, read)
    containers: list[Container] = []
    for schema, table, rows in tables:
        name = f"{schema}.{table}"
        fields = sampling.fields(name, str(schema), str(table), columns, gaps)
        records = int(str(rows)) if rows is not None else None
        containers.append(Container(name, "table", records, fields))
    if time.monotonic() > deadline:
        gaps.append("stopped sampling: the probe's time bound")
    return containers, gaps


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    started = time.monotonic()
    with Watchdog(Deadline(started + ctx.time_budget)) as watchdog:
        found = _report(address, port, ctx, started, watchdog)
        stopped = watchdog.fired
    if stopped:
        return replace(found, gaps=(*found.gaps, f"{STOPPED}: the server had not finished"))
    return found


def _report(
    address: str, port: int, ctx: ProbeContext, started: float, watchdog: Watchdog
) -> StoreReport:
    greeting = read_greeting(address, port, watchdog.deadline.timeout(ctx.timeout))
    if greeting is None:
        return StoreReport(STORE, Auth.UNKNOWN, "no MySQL greeting on this port")
    if greeting.error:
        return StoreReport(
            STORE, Auth.REQUIRED, f"the server refused the connection: {greeting.error}"
        )
    offered = greeting.tls_offered
    tls_evidence = (
        "the greeting advertises TLS (CLIENT_SSL)"
        if offered is Tristate.YES
        else "the greeting does not advertise TLS"
    )
    tries = attempts(STORE, address, port, ctx, EMPTY_PASSWORD_USERS)
    login = _login(address, port, tries, False, ctx, watchdog)
    cleartext = login.cleartext_asked
    plaintext = Tristate.YES if login.conn is not None else Tristate.UNKNOWN
    if login.conn is None and offered is Tristate.YES:
        # MariaDB's require_secure_transport refuses a plaintext login with the
        # same "Access denied" as a wrong password: only the same login over
        # TLS tells the two apart. (And a cleartext password may go over TLS.)
        over_tls = _login(address, port, tries, True, ctx, watchdog)
        if over_tls.conn is not None:
            plaintext = Tristate.NO
            tls_evidence += (
                "; a login refused in plaintext succeeded over TLS: "
                "plaintext connections are refused (require_secure_transport)"
            )
            login = over_tls
    elif login.conn is None and login.auth is Auth.REQUIRED:
        plaintext = Tristate.YES  # the server only speaks plaintext, and it answered
    if plaintext is Tristate.YES:
        tls_evidence += "; plaintext logins are accepted"
    found = StoreReport(
        STORE,
        login.auth,
        login.evidence,
        offered,
        plaintext,
        tls_evidence,
        cleartext_asked=cleartext,
    )
    if login.conn is None:
        return found
    try:
        containers, gaps = _inventory(login.conn, ctx, started)
    except pymysql.err.MySQLError as exc:
        containers, gaps = [], [f"listing tables failed: {_said(exc)}"]
    finally:
        login.conn.close()
    return found.with_inventory(login.user, containers, gaps, ctx.inspect_data)


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
