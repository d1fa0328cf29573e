"""Session-wide test set-up: real nmap, the demo lab on its own loopback block,
real data stores and real web servers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from fixtures.lab.servers import Lab, start
from tests.datastores import Stores
from tests.support import LAB_PREFIX
from tests.websites import Websites


@pytest.fixture(scope="session", autouse=True)
def _history_out_of_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every scan records its run in the history (default: in the user's data
    directory): the suite's runs go to a directory of its own."""
    with _environ("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data"))):
        yield


@pytest.fixture(scope="session", autouse=True)
def _cache_out_of_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Loading rules fills the rules cache (default: in the user's cache
    directory): the suite's go to a directory of its own, empty at the start,
    so no test passes on what an older checkout left there."""
    with _environ("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache"))):
        yield


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    running = start(LAB_PREFIX)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def stores() -> Iterator[Stores]:
    """Real PostgreSQL, MariaDB, Redis and Memcached on 127.0.40.x, seeded with
    fake customers; each kind starts the first time a test asks for it."""
    running = Stores()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def websites() -> Iterator[Websites]:
    """Real Apache and nginx servers on 127.0.60.x (plain HTTP and HTTPS, well
    and badly configured); all start the first time a test asks for one."""
    running = Websites()
    try:
        yield running
    finally:
        running.stop()
