"""What a port speaks: TLS, plaintext, or both, asked at the socket level,
because a driver that falls back or upgrades by itself cannot tell.

TLS here verifies nothing (the contexts of `scanner.probes.clients.wire`): a
probe asks whether the port speaks TLS, not whether its certificate is good.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from scanner.probes.clients.wire import (
    Deadline,
    LineReply,
    any_tls,
    exchange_line,
    handshake,
    socket_problem,
)
from scanner.probes.datastores.report import Auth, StoreReport, Tristate
from scanner.probes.evidence import clean


def tls_handshake(address: str, port: int, timeout: float) -> tuple[Tristate, str]:
    """Whether a TLS handshake on the port succeeds, weak ciphers and old
    versions included, and what happened."""
    try:
        version = handshake(address, port, timeout, any_tls())
    except ssl.SSLError as exc:
        reason = clean(exc.reason or type(exc).__name__, 40)
        return Tristate.NO, f"no TLS: the handshake failed ({reason})"
    except TimeoutError:
        return Tristate.NO, f"no TLS: no handshake reply within {timeout:g}s"
    except OSError as exc:
        return Tristate.UNKNOWN, f"TLS handshake: {socket_problem(exc)}"
    return Tristate.YES, f"a TLS handshake succeeded ({version})"


@dataclass(frozen=True)
class Transport:
    """What a port speaks, TLS and plaintext, with the evidence for both."""

    tls_offered: Tristate
    plaintext: Tristate
    evidence: str
    answer: str  # what the plaintext request got: `a plaintext PING answered '+PONG'`

    @property
    def usable(self) -> bool:
        """Whether a session can be had at all: the plaintext request got the
        store's answer, or the port speaks TLS."""
        return self.plaintext is Tristate.YES or self.tls_offered is Tristate.YES

    def report(self, store: str, auth: Auth, evidence: str) -> StoreReport:
        plaintext = self.plaintext if self.usable else Tristate.UNKNOWN
        return StoreReport(store, auth, evidence, self.tls_offered, plaintext, self.evidence)


def line_transport(
    address: str,
    port: int,
    timeout: float,
    deadline: Deadline,
    request: str,
    answers: Callable[[LineReply], Tristate],
    plaintext_only: str = "",
) -> Transport:
    """Send `request` as one plaintext line (`answers` says YES when the
    store's own answer came back, else NO), then try a TLS handshake on the
    port; with `plaintext_only`, a port that answered in plaintext gets no
    handshake, and those words are the TLS evidence."""
    reply = exchange_line(address, port, request.encode() + b"\r\n", timeout, deadline)
    plaintext = answers(reply)
    if plaintext is Tristate.YES and plaintext_only:
        offered, tls_said = Tristate.NO, plaintext_only
    else:
        offered, tls_said = tls_handshake(address, port, deadline.timeout(timeout))
    answer = f"a plaintext {request} {reply.describe()}"
    return Transport(offered, plaintext, f"{tls_said}; {answer}", answer)
