"""What a port speaks: TLS and plaintext, from a line exchange and a handshake."""

from __future__ import annotations

from scanner.probes.clients.wire import Deadline, LineReply
from scanner.probes.datastores.report import Auth, Tristate
from scanner.probes.datastores.transport import Transport, line_transport
from tests.scanner.probes.peers import fake


def _pong(reply: LineReply) -> Tristate:
    return Tristate.YES if reply.line == b"+PONG" else Tristate.NO


def test_a_port_that_speaks_neither_is_reported_as_unknown_plaintext() -> None:
    silent = Transport(Tristate.NO, Tristate.NO, "no TLS; a plaintext PING timed out", "timed out")
    assert not silent.usable
    found = silent.report("redis", Auth.UNKNOWN, "no answer")
    assert (found.tls_offered, found.plaintext_allowed) == (Tristate.NO, Tristate.UNKNOWN)
    tls_only = Transport(Tristate.YES, Tristate.NO, "TLS; no plaintext", "")
    assert tls_only.report("redis", Auth.NONE, "").plaintext_allowed is Tristate.NO


def test_a_plaintext_answer_skips_the_handshake_when_the_store_never_mixes_them() -> None:
    with fake(lambda conn: conn.sendall(b"+PONG\r\n")) as server:
        speaks = line_transport(
            server.address, server.port, 1.0, Deadline.after(5), "PING", _pong, "plaintext only"
        )
    assert (speaks.tls_offered, speaks.plaintext) == (Tristate.NO, Tristate.YES)
    assert speaks.evidence == "plaintext only; a plaintext PING answered '+PONG'"
    assert speaks.answer == "a plaintext PING answered '+PONG'"


def test_without_an_answer_the_handshake_decides() -> None:
    with fake(lambda conn: conn.sendall(b"hello\r\n")) as server:
        speaks = line_transport(server.address, server.port, 0.5, Deadline.after(5), "PING", _pong)
    assert speaks.plaintext is Tristate.NO
    assert speaks.tls_offered is not Tristate.YES
    assert speaks.evidence.endswith("; a plaintext PING answered 'hello'")
