"""Peers on loopback for the probe tests: a listener that serves each
connection on a thread of its own, and the hostile peers every probe must
survive (garbage, a reset, silence).

The replay servers (`replay.py`) and the scripted Redis and Memcached peers
of the probe tests are built on `Listener`.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, TypeVar

import pytest

from scanner.probes.context import ProbeContext
from scanner.probes.datastores.report import StoreReport

FAKE_ADDRESS = "127.0.51.20"

Handler = Callable[[socket.socket], None]
Report = Callable[[str, int, ProbeContext], StoreReport]


class Listener:
    """A TCP listener on `address` (any free port, or `port`) that hands each
    connection to `serve` on a thread of its own, from `start()` until `stop()`."""

    def __init__(self, address: str, serve: Handler, port: int = 0) -> None:
        self._socket = socket.create_server((address, port))
        self._socket.settimeout(0.1)  # close() does not wake a blocked accept()
        self.address, self.port = self._socket.getsockname()[:2]
        self._serve = serve
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()


class Server(Protocol):
    def start(self) -> object: ...

    def stop(self) -> None: ...


S = TypeVar("S", bound=Server)


@contextmanager
def serving(server: S) -> Iterator[S]:
    """The server, started, and stopped when the block ends."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fake(handler: Handler) -> AbstractContextManager[Listener]:
    """A peer whose every connection `handler` serves: for replies no real
    server gives (garbage, resets, silence, echoes)."""

    def guarded(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            handler(conn)

    return serving(Listener(FAKE_ADDRESS, guarded))


def closed_port(address: str) -> int:
    """A port on `address` that was free a moment ago: nothing listens there."""
    with socket.create_server((address, 0)) as placeholder:
        port: int = placeholder.getsockname()[1]
    return port


# --- hostile peers ------------------------------------------------------------------


def send_garbage(conn: socket.socket) -> None:
    conn.sendall(b"\x1b[31mSSH-2.0-\x00\xff\xfe not redis \xe2\x80\xae\r\n")


def reset(conn: socket.socket) -> None:
    # SO_LINGER with a zero timeout: close() sends a RST, not a FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def silent(conn: socket.socket) -> None:
    while conn.recv(4096):
        pass


# A dripping peer sends one byte this often: inside any per-read timeout the
# tests set, so only a bound on the whole exchange stops the probe.
DRIP_EVERY = 1.5
# ...and gives up after this long, so a probe without such a bound ends (late,
# failing its test on what it reports) instead of hanging the test run.
DRIP_FOR = 60.0


def drip(conn: socket.socket, data: bytes) -> None:
    """Send `data` one byte every DRIP_EVERY seconds, for DRIP_FOR seconds at most."""
    ends = time.monotonic() + DRIP_FOR
    for byte in data:
        if time.monotonic() > ends:
            return
        conn.sendall(bytes([byte]))
        time.sleep(DRIP_EVERY)


HOSTILE = {"garbage": send_garbage, "reset": reset, "silent": silent}
# A test run once against each hostile peer, its `handler` argument the peer.
each_hostile_peer = pytest.mark.parametrize("handler", list(HOSTILE.values()), ids=list(HOSTILE))


def timed_report(report: Report, handler: Handler, ctx: ProbeContext) -> tuple[StoreReport, float]:
    """What `report` made of a fake peer served by `handler`, and how long it took."""
    with fake(handler) as server:
        started = time.monotonic()
        found = report(server.address, server.port, ctx)
        return found, time.monotonic() - started
