"""Reads bounded in time, sessions that break, and the watchdog that holds a
connection to its deadline (against a dripping peer on loopback)."""

from __future__ import annotations

import socket
import time

import pytest

from scanner.probes.clients.wire import Deadline, Watchdog, bracketed, receive_exactly
from tests.scanner.probes.peers import drip, fake


def test_a_reads_timeout_is_cut_short_by_the_deadline() -> None:
    assert Deadline.after(60).timeout(2.0) == 2.0
    assert 0 < Deadline.after(0.5).timeout(2.0) <= 0.5
    spent = Deadline.after(-1)
    assert spent.expired
    assert spent.timeout(2.0) == 0.001


def test_receive_exactly_reads_across_chunks_and_refuses_a_short_reply() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(1.0)
        theirs.sendall(b"abc")
        theirs.sendall(b"def")
        assert receive_exactly(ours, 6, time.monotonic() + 5) == b"abcdef"
        theirs.sendall(b"gh")
        theirs.close()
        with pytest.raises(ConnectionResetError):
            receive_exactly(ours, 4, time.monotonic() + 5)


def test_ipv6_addresses_are_bracketed() -> None:
    assert bracketed("::1") == "[::1]"
    assert bracketed("127.0.0.1") == "127.0.0.1"


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(1):
        data += chunk
    return data


def test_the_watchdog_ends_a_dripping_read_at_its_deadline() -> None:
    # Each byte comes inside the read's timeout: only a bound on the whole exchange ends it.
    with fake(lambda conn: drip(conn, b"x" * 1000)) as peer:
        sock = socket.create_connection((peer.address, peer.port), timeout=5.0)
        with sock, Watchdog(Deadline.after(2.0)) as watchdog:
            assert watchdog.watch(sock) > 0
            started = time.monotonic()
            data = _read_all(sock)  # ends at EOF: the watchdog's shutdown
            elapsed = time.monotonic() - started
            assert watchdog.fired
    assert 0 < len(data) < 10
    assert elapsed < 30  # generous: the deadline is 2 s, the drip would take minutes


def test_the_watchdog_shuts_at_once_what_it_is_given_after_its_deadline() -> None:
    with fake(lambda conn: drip(conn, b"x" * 1000)) as peer, Watchdog(Deadline.after(0)) as dog:
        time.sleep(0.2)  # the deadline has passed
        with socket.create_connection((peer.address, peer.port), timeout=5.0) as sock:
            assert dog.watch(sock) == 0
            assert sock.recv(10) in (b"", b"x")  # at most what came before the shutdown


def test_a_forgotten_connection_is_left_alone() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs, Watchdog(Deadline.after(0.3)) as watchdog:
        watchdog.forget(watchdog.watch(ours))
        time.sleep(0.6)
        assert watchdog.fired
        theirs.sendall(b"still here")
        ours.settimeout(1.0)
        assert ours.recv(100) == b"still here"
