"""PostgreSQL: does it let a client in without a password, does it offer TLS,
and which tables hold personal data (and how many rows, by its own statistics).

TLS is read at the protocol level (the one-byte reply to an SSLRequest),
because a driver that silently falls back cannot tell. Sessions are
read-only (`default_transaction_read_only`) with a statement timeout; only
catalogue queries run unless `--inspect-data` asks for a few values per
column, which go straight to the personal-data detectors and are masked.

A password is never sent as it is over a connection without TLS: libpq's
`require_auth=!password` (libpq 16 and later) refuses a server's request for
a cleartext password, and that it asked is reported; with an older libpq no
password is sent in plaintext at all. Logins stop at the time budget, and a
watchdog shuts a session's connection down then: libpq waits for a query's
answer without any timeout of its own, and the statement timeout is the
server's to keep.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from scanner.banners.products import identify
from scanner.model import Host, Observation, Service
from scanner.probes.clients.wire import Deadline, Watchdog
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.datastores.logins import Attempt, attempts, none_accepted
from scanner.probes.datastores.report import Auth, Container, StoreReport, Tristate, observations
from scanner.probes.datastores.tables import Sampling, by_table
from scanner.probes.evidence import server_message

STORE = "postgresql"
# Role names that exist on most installations: trust auth for any of them is
# enough to read everything that role can.
COMMON_USERS = ("postgres", "admin", "root", "pgsql")
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_TEXTUAL = frozenset({"text", "character varying", "character", "json", "jsonb", "bytea"})
# libpq refuses a server's request for a cleartext password itself from 16 on.
REQUIRE_AUTH_LIBPQ = 160000
CLEARTEXT_ASKED = (
    "the server asked for the password in cleartext (AuthenticationCleartextPassword) "
    "over an unencrypted connection; not sent"
)
_LIBPQ_REFUSED = "server requested a cleartext password"  # libpq's words for require_auth
STOPPED = "stopped at the time budget"


def applies(service: Service) -> bool:
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.name == "postgresql" or identify(service).product == STORE)
    )


def ssl_request(address: str, port: int, timeout: float) -> Tristate:
    """Ask for TLS the way libpq does: 'S' means the server offers it."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(_SSL_REQUEST)
            reply = conn.recv(1)
    except OSError:
        return Tristate.UNKNOWN
    if reply == b"S":
        return Tristate.YES
    if reply == b"N":
        return Tristate.NO
    return Tristate.UNKNOWN


def _said(exc: BaseException) -> str:
    """The server's own words, one bounded line (psycopg prefixes the address)."""
    text = str(exc)
    if "FATAL:" in text:
        text = text.split("FATAL:", 1)[1]
    return server_message(text)


class _Refused(Exception):
    """A login attempt the server turned down, with why."""


def refuses_cleartext() -> bool:
    """Whether this libpq can refuse a cleartext password request (`require_auth`)."""
    return psycopg.pq.version() >= REQUIRE_AUTH_LIBPQ


class _Unsafe(Exception):
    """A password that would go in plaintext with a libpq that cannot refuse cleartext."""


def _connect(
    host: str,
    port: int,
    user: str,
    password: str,
    dbname: str,
    sslmode: str,
    ctx: ProbeContext,
    deadline: Deadline,
) -> psycopg.Connection[tuple[object, ...]]:
    timeout_ms = int(ctx.timeout * 1000)
    guard = ""
    if sslmode == "disable" and password:
        if not refuses_cleartext():
            raise _Unsafe(
                f"password not sent in plaintext: libpq {psycopg.pq.version()} "
                "cannot refuse a request for it in cleartext"
            )
        # Any method but the password as it is: trust, md5 and SCRAM send no password.
        guard = make_conninfo(require_auth="!password")
    if deadline.expired:
        raise TimeoutError(STOPPED)
    return psycopg.connect(
        guard,
        host=host,
        port=port,
        user=user,
        password=password,
        dbname=dbname,
        sslmode=sslmode,
        # Whole seconds (libpq waits 2 at least), the whole connection and
        # login within them, and never past the budget by more than that.
        connect_timeout=max(1, int(deadline.timeout(ctx.timeout))),
        # Read-only by default, every statement bounded: an audit must not
        # change or load the server it audits.
        options=f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}",
        application_name="trustscan",
        autocommit=True,
    )


@dataclass
class _Session:
    host: str
    port: int
    user: str
    password: str
    sslmode: str
    ctx: ProbeContext
    watchdog: Watchdog

    @contextmanager
    def database(self, name: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        conn = _connect(
            self.host,
            self.port,
            self.user,
            self.password,
            name,
            self.sslmode,
            self.ctx,
            self.watchdog.deadline,
        )
        # libpq waits for an answer without a timeout: the watchdog ends it at the budget.
        token = self.watchdog.watch(conn.pgconn.socket)
        try:
            yield conn
        finally:
            conn.close()
            self.watchdog.forget(token)


@dataclass(frozen=True)
class _Login:
    session: _Session | None
    auth: Auth
    evidence: str
    no_encryption: bool  # pg_hba refused the connection for lack of TLS
    cleartext_asked: str = ""  # the server asked for a password in the clear


def _login(
    address: str,
    port: int,
    tries: Sequence[Attempt],
    sslmode: str,
    ctx: ProbeContext,
    watchdog: Watchdog,
) -> _Login:
    said: list[str] = []
    no_encryption = False
    spoke = False  # the server itself turned a login down (not a timeout or reset)
    cleartext = ""
    for attempt in tries:
        password = attempt.password
        if watchdog.deadline.expired:
            said.append(STOPPED)
            break
        for dbname in ("postgres", "template1"):
            deadline = watchdog.deadline
            try:
                conn = _connect(
                    address, port, attempt.user, password, dbname, sslmode, ctx, deadline
                )
            except (_Unsafe, TimeoutError) as exc:
                said.append(f"user {attempt.user}: {exc}")
                break
            except psycopg.OperationalError as exc:
                if _LIBPQ_REFUSED in str(exc):
                    spoke = True  # the server asked for a password: it requires one
                    cleartext = CLEARTEXT_ASKED
                    said.append(f"user {attempt.user}: {CLEARTEXT_ASKED}")
                    break
                words = _said(exc)
                # libpq answers "no password supplied" itself when the
                # server asks for one: the server did speak.
                spoke = spoke or "FATAL:" in str(exc) or "no password supplied" in words
                if "database" in words and "does not exist" in words:
                    continue  # try the other maintenance database
                no_encryption = no_encryption or "no encryption" in words
                said.append(f"user {attempt.user}: {words}")
                break
            conn.close()
            session = _Session(address, port, attempt.user, password, sslmode, ctx, watchdog)
            trust = f"logged in as {attempt.user} without a password (trust authentication)"
            return _Login(session, *attempt.accepted(trust), False, cleartext)
    auth, evidence = none_accepted(said, spoke)
    return _Login(None, auth, evidence, spoke and no_encryption, cleartext)


_TABLES = """
SELECT n.nspname, c.relname,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END,
       s.n_live_tup
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%'
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY c.reltuples DESC
LIMIT %s
"""
_COLUMNS = """
SELECT table_schema, table_name, column_name, data_type
FROM information_schema.columns
WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY table_schema, table_name, ordinal_position
"""
_UNREADABLE = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND NOT has_table_privilege(c.oid, 'SELECT')
"""


def _sample(
    conn: psycopg.Connection[tuple[object, ...]], schema: str, table: str, column: str, limit: int
) -> list[object]:
    query = sql.SQL(
        "SELECT {col}::text FROM {schema}.{table} WHERE {col} IS NOT NULL LIMIT {n}"
    ).format(
        col=sql.Identifier(column),
        schema=sql.Identifier(schema),
        table=sql.Identifier(table),
        n=sql.Literal(limit),
    )
    return [row[0] for row in conn.execute(query).fetchall()]


def _database_containers(
    conn: psycopg.Connection[tuple[object, ...]], database: str, ctx: ProbeContext, deadline: float
) -> tuple[list[Container], list[str]]:
    gaps: list[str] = []
    tables = conn.execute(_TABLES, (ctx.max_containers,)).fetchall()
    hidden = conn.execute(_UNREADABLE).fetchone()
    if hidden and int(str(hidden[0])) > 0:
        gaps.append(f"{database}: {hidden[0]} table(s) this role may not read")
    columns = by_table(conn.execute(_COLUMNS).fetchall())
    read = partial(_sample, conn, limit=ctx.sample_size)
    sampling = Sampling(ctx, deadline, _TEXTUAL, psycopg.Error, _said, read)
    containers: list[Container] = []
    for schema, table, estimate, live in tables:
        name = f"{database}.{schema}.{table}"
        records = (
            int(str(estimate))
            if estimate is not None
            else (int(str(live)) if live is not None else None)
        )
        fields = sampling.fields(name, str(schema), str(table), columns, gaps)
        containers.append(Container(name, "table", records, fields))
    return containers, gaps


def _inventory(session: _Session, ctx: ProbeContext) -> tuple[list[Container], list[str]]:
    deadline = session.watchdog.deadline.at
    containers: list[Container] = []
    gaps: list[str] = []
    with session.database("postgres") as conn:
        databases = [
            str(row[0])
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                "AND has_database_privilege(datname, 'CONNECT') ORDER BY datname LIMIT %s",
                (ctx.max_containers,),
            ).fetchall()
        ]
    for database in databases:
        if time.monotonic() > deadline or len(containers) >= ctx.max_containers:
            gaps.append(f"stopped after {len(containers)} tables: the probe's time or size bound")
            break
        try:
            with session.database(database) as conn:
                found, more_gaps = _database_containers(conn, database, ctx, deadline)
        except (psycopg.Error, TimeoutError) as exc:  # TimeoutError: the budget ran out
            gaps.append(f"{database}: {_said(exc)}")
            continue
        containers.extend(found[: ctx.max_containers - len(containers)])
        gaps.extend(more_gaps)
    return containers, gaps


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    with Watchdog(Deadline.after(ctx.time_budget)) as watchdog:
        found = _report(address, port, ctx, watchdog)
        stopped = watchdog.fired
    if stopped:
        return replace(found, gaps=(*found.gaps, f"{STOPPED}: the server had not finished"))
    return found


def _report(address: str, port: int, ctx: ProbeContext, watchdog: Watchdog) -> StoreReport:
    offered = ssl_request(address, port, watchdog.deadline.timeout(ctx.timeout))
    if offered is Tristate.UNKNOWN:
        return StoreReport(STORE, Auth.UNKNOWN, "no PostgreSQL answer to an SSLRequest")
    tls_evidence = (
        "SSLRequest answered 'S': TLS offered"
        if offered is Tristate.YES
        else "SSLRequest answered 'N': the server has no TLS"
    )
    tries = attempts(STORE, address, port, ctx, COMMON_USERS)
    # Plaintext first: if the server's rules refuse it, say so and go on over TLS.
    login = _login(address, port, tries, "disable", ctx, watchdog)
    cleartext = login.cleartext_asked
    if login.no_encryption:
        plaintext = Tristate.NO
        tls_evidence += "; plaintext connections are refused (pg_hba allows TLS only)"
        if offered is Tristate.YES:
            login = _login(address, port, tries, "require", ctx, watchdog)
    elif login.auth is Auth.UNKNOWN:
        plaintext = Tristate.UNKNOWN
    else:
        plaintext = Tristate.YES
        tls_evidence += "; plaintext connections are accepted"
        if login.session is None and cleartext and offered is Tristate.YES:
            # A password asked for in the clear may go over TLS.
            over_tls = _login(address, port, tries, "require", ctx, watchdog)
            login = replace(over_tls, evidence=f"over TLS: {over_tls.evidence}")
    session, auth, evidence = login.session, login.auth, login.evidence
    found = StoreReport(
        STORE, auth, evidence, offered, plaintext, tls_evidence, cleartext_asked=cleartext
    )
    if session is None:
        return found
    try:
        containers, gaps = _inventory(session, ctx)
    except (psycopg.Error, TimeoutError) as exc:
        containers, gaps = [], [f"listing databases failed: {_said(exc)}"]
    return found.with_inventory(session.user, containers, gaps, ctx.inspect_data)


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
