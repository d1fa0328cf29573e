"""The real servers, started once for the session on 127.0.30.x."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.realservers import RealServers, start


@pytest.fixture(scope="session")
def real_servers() -> Iterator[RealServers]:
    servers = start()
    try:
        yield servers
    finally:
        servers.stop()
