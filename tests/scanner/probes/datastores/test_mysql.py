"""The MySQL probe against hostile servers on loopback that speak enough of
the protocol for a login (tests/scanner/probes/sql_peers.py): one that quotes
the password back in its access denied, ones that ask for it in cleartext
over plaintext, and one that drips its answers. The real servers are in
tests/integration."""

from __future__ import annotations

import base64
import socket
import time
from urllib.parse import quote

import pytest

from scanner.model import Observation, ProbeError, Service
from scanner.probes.context import ProbeContext
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.mysql import SPEC
from scanner.probes.runner import run_probes
from tests.factories import make_host
from tests.scanner.probes.outcomes import evidence, facts, observed_text
from tests.scanner.probes.peers import drip, fake
from tests.scanner.probes.sql_peers import SECRET, FakeMySQL, Quote, mysql_packet

ASKED_IN_CLEARTEXT = "store.cleartext_password_requested"


def _scan(
    server: FakeMySQL, time_budget: float = 60.0
) -> tuple[tuple[Observation, ...], tuple[ProbeError, ...], float]:
    """The probe run as a scan runs it, with the password for user auditor."""
    credential = StoreCredential("mysql", "auditor", SECRET)
    context = ProbeContext(timeout=3.0, credentials=(credential,), time_budget=time_budget)
    with fake(server) as peer:
        service = Service(peer.port, "tcp", "open", name="mysql")
        started = time.monotonic()
        found, errors = run_probes(
            [make_host(address=peer.address, services=(service,))], context, {SPEC.name: SPEC}
        )
        return found, errors, time.monotonic() - started


def _assert_no_secret(found: tuple[Observation, ...], errors: tuple[ProbeError, ...]) -> None:
    text = observed_text(found) + "".join(e.message for e in errors)
    for form in (SECRET, quote(SECRET, safe=""), SECRET.encode().hex(), SECRET[:8]):
        assert form not in text
    assert base64.b64encode(SECRET.encode()).decode()[:12] not in text


@pytest.mark.parametrize(
    "quoted",
    [
        lambda pw: f"you sent '{pw}'",
        lambda pw: f"password was {quote(pw, safe='')}",
        lambda pw: f"hex {pw.encode().hex().upper()}",
        lambda pw: f"b64 {base64.b64encode(pw.encode()).decode()}",
        # Long enough that the probe's bound on a message (200 characters) cuts it in two.
        lambda pw: "x" * 130 + f" you sent '{pw}'",
    ],
    ids=["quoted", "url-encoded", "hex", "base64", "cut-short"],
)
def test_a_password_quoted_back_after_an_auth_switch_is_blanked(quoted: Quote) -> None:
    server = FakeMySQL("mysql_native_password", quoted)
    found, errors, _ = _scan(server)
    assert errors == ()
    assert facts(found)["store.auth"] == "required"
    said = evidence(found, "store.auth")
    assert "user auditor: 1045: Access denied for user 'auditor'@'127.0.0.1': " in said
    assert "***" in said
    assert ASKED_IN_CLEARTEXT not in facts(found)
    _assert_no_secret(found, errors)


@pytest.mark.parametrize("plugin", ["mysql_clear_password", "dialog"])
def test_a_cleartext_auth_switch_over_plaintext_is_refused_and_reported(plugin: str) -> None:
    server = FakeMySQL(plugin)
    found, errors, _ = _scan(server)
    assert errors == ()
    assert b"auditor" in server.plaintext()  # the login was tried...
    assert SECRET.encode() not in server.plaintext()  # ...and the password never left
    asked = (
        f"the server asked for the password in cleartext ({plugin}) "
        "over an unencrypted connection; not sent"
    )
    assert facts(found)[ASKED_IN_CLEARTEXT] == "yes"
    assert evidence(found, ASKED_IN_CLEARTEXT) == asked
    assert f"user auditor: {asked}" in evidence(found, "store.auth")
    assert facts(found)["store.auth"] == "required"
    _assert_no_secret(found, errors)


def test_a_server_dripping_its_answers_is_cut_off_at_the_time_budget() -> None:
    # The login is accepted; the answer to the first query comes a byte at a time.
    def slow_answer(conn: socket.socket) -> None:
        drip(conn, mysql_packet(1, b"\x00" * 5000))

    found, errors, elapsed = _scan(FakeMySQL(after_login=slow_answer), time_budget=3.0)
    assert errors == ()  # the probe stopped by itself
    assert "stopped at the time budget" in evidence(found, "store.auth")
    assert elapsed < 30  # generous: the budget is 3 s, the drip would take minutes
