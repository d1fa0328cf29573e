"""The data-store harness itself (tests/datastores.py): each server lets in,
turns away and speaks TLS as its variant says, and holds the fake customers.
Also the lab's two real stores (fixtures/lab), open and seeded the same way.

The probes' tests rely on these servers behaving so; these tests say what
each refusal looks like to the real client library.
"""

from __future__ import annotations

import importlib
import ssl
from typing import Any

import psycopg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from fixtures.datastores.customers import (
    CUSTOMERS,
    MEMCACHED_USERS,
    MemcachedClient,
    MemcachedError,
    customers,
    raw_values,
    spaced,
    stored_passwords,
)
from fixtures.datastores.servers import (
    Certificate,
    RunningStore,
    StartFailed,
    StoreSpec,
    Unavailable,
)
from fixtures.lab.servers import Lab
from tests import datastores
from tests.datastores import Stores, StoreServer

pytestmark = pytest.mark.integration

# PyMySQL ships no type information and its stubs are not a dependency.
pymysql: Any = importlib.import_module("pymysql")
EMAILS = frozenset(c.email for c in customers())
WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def _every_store(request: pytest.FixtureRequest) -> None:
    # All twelve at once, the first time a test here wants a store: quicker than
    # one kind after another as the tests ask for them.
    if "stores" in request.fixturenames:
        stores: Stores = request.getfixturevalue("stores")
        stores.start()


def test_raw_values_list_every_personal_value() -> None:
    values = raw_values()
    people = customers()
    assert len(people) == CUSTOMERS
    assert values >= EMAILS
    assert {spaced(c.card_number) for c in people} <= values
    assert {c.card_number for c in people} <= values
    assert set(stored_passwords()) <= values
    assert {c.password for c in people if not c.password_hashed} <= values
    # Hashes from the 101st customer on, plaintext before.
    assert stored_passwords()[99] == people[99].password
    assert stored_passwords()[100].startswith("$2b$04$")


def _login(server: StoreServer, password: str) -> dict[str, Any]:
    """What either SQL client is told to log in as the server's user."""
    return {
        "host": server.address,
        "port": server.port,
        "user": server.username,
        "password": password,
        "connect_timeout": 5,
    }


# --- PostgreSQL --------------------------------------------------------------


def _pg(server: StoreServer, *, password: str = "", tls: bool = False) -> psycopg.Connection[Any]:
    options: dict[str, Any] = {"sslmode": "disable"}
    if tls:
        assert server.ca_file is not None
        options = {"sslmode": "verify-full", "sslrootcert": str(server.ca_file)}
    return psycopg.connect(dbname="shop", **_login(server, password), **options)


def _pg_emails(conn: psycopg.Connection[Any]) -> set[str]:
    with conn:
        rows = conn.execute("SELECT email FROM customers").fetchall()
        (orders,) = conn.execute("SELECT count(*) FROM orders").fetchone() or (0,)
    assert orders == 600
    return {row[0] for row in rows}


def test_postgresql_open_lets_anyone_in(stores: Stores) -> None:
    server = stores.get("postgresql", "open")
    assert server.username == "postgres"
    assert server.package_version
    assert _pg_emails(_pg(server)) == EMAILS


def test_postgresql_password_needs_the_password(stores: Stores) -> None:
    server = stores.get("postgresql", "password")
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        _pg(server)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _pg(server, password=WRONG)
    assert _pg_emails(_pg(server, password=server.password)) == EMAILS


def test_postgresql_tls_refuses_plaintext(stores: Stores) -> None:
    server = stores.get("postgresql", "tls")
    # PostgreSQL reads the startup packet, then its pg_hba reject line answers.
    with pytest.raises(psycopg.OperationalError, match=r"rejects connection .* no encryption"):
        _pg(server)
    conn = _pg(server, tls=True)
    with conn:
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert row == (True,)
    assert _pg_emails(_pg(server, tls=True)) == EMAILS


# --- MariaDB -------------------------------------------------------------------


def _mysql(server: StoreServer, *, password: str = "", tls: bool = False) -> Any:
    # PyMySQL 1.2 upgrades to TLS by itself when the server offers it: plaintext
    # has to be asked for.
    options: dict[str, Any] = {"ssl_disabled": True}
    if tls:
        options = {"ssl_ca": str(server.ca_file), "ssl_verify_identity": True}
    return pymysql.connect(database="shop", **_login(server, password), **options)


def _mysql_emails(conn: Any) -> set[str]:
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT email FROM customers")
        emails = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM products")
        assert cursor.fetchone() == (40,)
    finally:
        conn.close()
    return emails


def test_mysql_open_lets_root_in_without_a_password(stores: Stores) -> None:
    server = stores.get("mysql", "open")
    assert server.username == "root"
    assert _mysql_emails(_mysql(server)) == EMAILS


def test_mysql_password_needs_the_password(stores: Stores) -> None:
    server = stores.get("mysql", "password")
    with pytest.raises(pymysql.err.OperationalError) as refused:
        _mysql(server)
    assert refused.value.args[0] == 1045  # ER_ACCESS_DENIED_ERROR, "using password: NO"
    with pytest.raises(pymysql.err.OperationalError, match="Access denied"):
        _mysql(server, password=WRONG)
    assert _mysql_emails(_mysql(server, password=server.password)) == EMAILS


def test_mysql_tls_refuses_plaintext(stores: Stores) -> None:
    server = stores.get("mysql", "tls")
    # MariaDB 10.11 turns a plaintext login away as if its password were wrong:
    # error 1045, not ER_SECURE_TRANSPORT_REQUIRED; the same login over TLS works.
    with pytest.raises(pymysql.err.OperationalError) as refused:
        _mysql(server)
    assert refused.value.args[0] == 1045
    conn = _mysql(server, tls=True)
    cursor = conn.cursor()
    cursor.execute("SHOW STATUS LIKE 'Ssl_version'")
    assert cursor.fetchone()[1].startswith("TLSv1.")
    assert _mysql_emails(conn) == EMAILS


# --- Redis -----------------------------------------------------------------------


def _redis(server: StoreServer, *, password: str = "", tls: bool = False) -> redis.Redis:
    return redis.Redis(
        # redis-py 8 retries a failed connection with backoff for ~4 s by default.
        retry=Retry(NoBackoff(), 0),
        host=server.address,
        port=server.port,
        password=password or None,
        ssl=tls,
        ssl_ca_certs=str(server.ca_file) if tls else None,
        socket_timeout=5,
        decode_responses=True,
    )


def _redis_emails(client: redis.Redis) -> set[str]:
    with client:
        keys = list(client.scan_iter("customer:*", count=1000))
        assert len(keys) == CUSTOMERS
        assert client.scard("products") == 40
        assert len(list(client.scan_iter("cache:page:*", count=1000))) == 50
        return {str(client.hget(key, "email")) for key in keys}


def test_redis_open_lets_anyone_in(stores: Stores) -> None:
    server = stores.get("redis", "open")
    assert _redis_emails(_redis(server)) == EMAILS


def test_redis_password_needs_the_password(stores: Stores) -> None:
    server = stores.get("redis", "password")
    with pytest.raises(redis.AuthenticationError):
        _redis(server).dbsize()
    with pytest.raises(redis.AuthenticationError, match="invalid username-password"):
        _redis(server, password=WRONG).dbsize()
    assert _redis_emails(_redis(server, password=server.password)) == EMAILS


def test_redis_tls_refuses_plaintext(stores: Stores) -> None:
    server = stores.get("redis", "tls")
    # The TLS listener takes the plaintext command for a bad handshake and resets.
    with pytest.raises(redis.ConnectionError):
        _redis(server).ping()
    assert _redis_emails(_redis(server, tls=True)) == EMAILS


# --- Memcached -----------------------------------------------------------------------


def _memcached_emails(client: MemcachedClient) -> set[str]:
    with client:
        emails = set()
        for n in range(1, MEMCACHED_USERS + 1):
            value = client.get(f"user:{n}:email")
            assert value is not None
            emails.add(value.decode())
        assert client.get("page:20") is not None
    return emails


def test_memcached_open_lets_anyone_in(stores: Stores) -> None:
    server = stores.get("memcached", "open")
    emails = _memcached_emails(MemcachedClient(server.address, server.port))
    assert emails == {c.email for c in customers()[:MEMCACHED_USERS]}
    assert emails <= raw_values()


def test_memcached_password_needs_the_password(stores: Stores) -> None:
    server = stores.get("memcached", "password")
    with (
        MemcachedClient(server.address, server.port) as client,
        pytest.raises(MemcachedError, match="unauthenticated"),
    ):
        client.get("user:1:email")
    with (
        MemcachedClient(server.address, server.port) as client,
        pytest.raises(MemcachedError, match="authentication failure"),
    ):
        client.authenticate(server.username, WRONG)
    client = MemcachedClient(server.address, server.port)
    client.authenticate(server.username, server.password)
    assert _memcached_emails(client) <= EMAILS


def test_memcached_tls_refuses_plaintext(stores: Stores) -> None:
    server = stores.get("memcached", "tls")
    assert server.ca_file is not None
    # Like Redis: the plaintext line fails the TLS handshake and the server resets.
    with (
        MemcachedClient(server.address, server.port) as client,
        pytest.raises((OSError, MemcachedError)),
    ):
        client.command("version")
    context = ssl.create_default_context(cafile=str(server.ca_file))
    client = MemcachedClient(server.address, server.port, tls=context)
    assert _memcached_emails(client) <= EMAILS


# --- the lab's real stores ---------------------------------------------------------------


def test_lab_stores_are_open_and_seeded(lab: Lab) -> None:
    for name in ("open-redis", "open-postgresql"):
        if name in lab.skipped:
            pytest.skip(f"{name}: {lab.skipped[name]}")
    redis_target = lab.address_of("open-redis")
    client = redis.Redis(host=redis_target.address, port=redis_target.port, socket_timeout=5)
    with client:
        assert client.hget("customer:1", "email") == customers()[0].email.encode()
    pg = lab.address_of("open-postgresql")
    with psycopg.connect(
        host=pg.address, port=pg.port, user="postgres", dbname="shop", sslmode="disable"
    ) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (CUSTOMERS,)


# --- what a missing or broken server does to a test ---------------------------------------


def test_a_missing_program_skips_and_a_broken_server_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def start_store(spec: StoreSpec, certificate: Certificate | None = None) -> RunningStore:
        if spec.variant == "open":
            raise Unavailable("redis-server is not installed")
        raise StartFailed("redis-tls exited with 1 before listening:\nserver.log: bad config")

    monkeypatch.setattr(datastores, "start_store", start_store)
    stores = Stores(prefix="127.0.41")
    try:
        with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
            stores.get("redis", "open")
        with pytest.raises(pytest.fail.Exception, match=r"(?s)did not start.*bad config"):
            stores.get("redis", "tls")
    finally:
        stores.stop()
