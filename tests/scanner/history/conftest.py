"""The history tests' stores: a SQLite file in the test's directory, or a
fresh database on the session's PostgreSQL server.

One PostgreSQL server serves the whole session, started the first time a
test asks for it from the newest Debian binaries (`/usr/lib/postgresql/*/bin`,
as `fixtures.datastores.servers` starts its stores), on 127.0.77.1 (no other
test listens there) and a free port, with trust authentication and no
customers seeded. Each test gets a database of its own, so tests never see
each other's runs. Without the binaries the PostgreSQL tests skip with the
reason; a server that is installed but does not come up fails them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from fixtures.processes import (
    START_TIMEOUT,
    StartFailed,
    Unavailable,
    give,
    logs,
    postgres_cluster,
    run_step,
    scratch_dir,
    start_listening,
    stop_group,
)
from scanner.history.location import location
from scanner.history.store import HistoryStore

ADDRESS = "127.0.77.1"
ADMIN = "postgres"
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.integration))


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server: where it listens, and how to reach one of its databases."""

    name: str
    address: str
    port: int

    def url(self, database: str, password: str = "") -> str:
        """The `--history` URL of `database` (trust auth ignores any password)."""
        secret = f":{password}" if password else ""
        return f"postgresql://{ADMIN}{secret}@{self.address}:{self.port}/{database}"

    def admin(self, database: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.address, port=self.port, user=ADMIN, dbname=database, autocommit=True
        )


@dataclass
class _Running:
    server: PostgresServer
    process: subprocess.Popen[bytes]
    work: Path

    def stop(self) -> None:
        stop_group(self.process)
        shutil.rmtree(self.work, ignore_errors=True)


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def _start() -> _Running:
    server = PostgresServer("postgresql-history", ADDRESS, _free_port(ADDRESS))
    with scratch_dir(server.name) as work:
        bindir, user, data, sockets = postgres_cluster(work)
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", ADMIN, "-A", "trust"]
        run_step(
            [*initdb, "--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"],
            work,
            user,
            timeout=120,
        )
        hba = data / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.0/8 trust\n")
        give(hba, user, 0o600)
        argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(server.port)]
        argv += ["-k", str(sockets), "-c", f"listen_addresses={server.address}"]
        for setting in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
            argv += ["-c", setting]
        process = start_listening(server, argv, work, user)
        running = _Running(server, process, work)
        # Listening is not ready: it answers "the database system is starting up" a moment.
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with server.admin():
                    return running
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    running.stop()
                    raise StartFailed(
                        f"{server.name} does not answer: {exc}\n{logs(work)}"
                    ) from exc
                time.sleep(0.1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (skips when PostgreSQL is not installed)."""
    try:
        running = _start()
    except Unavailable as exc:
        pytest.skip(str(exc))
    except StartFailed as exc:
        pytest.fail(f"PostgreSQL did not start: {exc}", pytrace=False)
    try:
        yield running.server
    finally:
        running.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """The URL of a database of this test's own on the session's server."""
    database = f"history_{uuid.uuid4().hex[:12]}"
    with postgres.admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    yield postgres.url(database)
    with postgres.admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))


@pytest.fixture(params=BACKENDS)
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A `--history` URL of an empty store: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(history_url: str) -> Iterator[HistoryStore]:
    """The store `history_url` names, opened (and so migrated to the latest version)."""
    opened = HistoryStore(location(history_url))
    try:
        yield opened
    finally:
        opened.close()
