"""Session-wide test set-up: real nmap, and the demo lab on its own loopback block."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fixtures.lab.servers import Lab, start
from tests.support import LAB_PREFIX


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    running = start(LAB_PREFIX)
    try:
        yield running
    finally:
        running.stop()
