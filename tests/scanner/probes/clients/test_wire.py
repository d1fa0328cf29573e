"""Reads bounded in time, and sessions that break, without a server."""

from __future__ import annotations

import socket
import time

import pytest

from scanner.probes.clients.wire import Deadline, bracketed, receive_exactly


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
