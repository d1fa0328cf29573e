"""The PostgreSQL probe against hostile servers on loopback that speak enough
of the protocol (v3) for a login: one that quotes the password back in its
error, one that asks for it in cleartext (over plaintext, or over TLS), and
ones that drip their answers. The real servers are in tests/integration."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from scanner.model import Observation, ProbeError, Service
from scanner.probes.context import ProbeContext
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.postgres import SPEC, refuses_cleartext
from scanner.probes.runner import run_probes
from tests.factories import make_host
from tests.scanner.probes.outcomes import evidence, facts, gaps, observed_text
from tests.scanner.probes.peers import FAKE_ADDRESS, drip, fake
from tests.scanner.probes.replay import server_tls
from tests.scanner.probes.sql_peers import (
    AUTH_CLEARTEXT,
    AUTH_MD5,
    AUTH_OK,
    SECRET,
    FakePostgres,
    pg_message,
)

ASKED_IN_CLEARTEXT = "store.cleartext_password_requested"
needs_require_auth = pytest.mark.skipif(
    not refuses_cleartext(), reason="this libpq has no require_auth (libpq 16 and later)"
)


def _scan(
    server: FakePostgres, time_budget: float = 60.0
) -> tuple[tuple[Observation, ...], tuple[ProbeError, ...], float]:
    """The probe run as a scan runs it, with the password for user auditor."""
    credential = StoreCredential("postgresql", "auditor", SECRET)
    context = ProbeContext(timeout=3.0, credentials=(credential,), time_budget=time_budget)
    with fake(server) as peer:
        host = make_host(
            address=peer.address, services=(Service(peer.port, "tcp", "open", name="postgresql"),)
        )
        started = time.monotonic()
        found, errors = run_probes([host], context, {SPEC.name: SPEC})
        return found, errors, time.monotonic() - started


def _no_secret_in(found: tuple[Observation, ...], errors: tuple[ProbeError, ...]) -> str:
    text = observed_text(found) + "".join(e.message for e in errors)
    for form in (SECRET, quote(SECRET, safe=""), SECRET.encode().hex(), SECRET[:8]):
        assert form not in text
    assert base64.b64encode(SECRET.encode()).decode()[:12] not in text
    return text


# An error message long enough that the probe's bound on it (200 characters)
# cuts the password in two: what is left of it must be blanked too.
_CUT = "x" * 120


@pytest.mark.parametrize(
    "quoted",
    [
        lambda pw: f"you sent '{pw}'",
        lambda pw: f"password was {quote(pw, safe='')}",
        lambda pw: f"hex {pw.encode().hex()}",
        lambda pw: f"b64 {base64.b64encode(pw.encode()).decode()}",
        lambda pw: f"{_CUT} you sent '{pw}'",
    ],
    ids=["quoted", "url-encoded", "hex", "base64", "cut-short"],
)
def test_a_password_quoted_back_in_an_error_is_blanked(quoted: Callable[[str], str]) -> None:
    # md5: the password itself is never sent; the server knows it and quotes it anyway.
    server = FakePostgres(AUTH_MD5, quoted)
    found, errors, _ = _scan(server)
    assert errors == ()
    assert facts(found)["store.auth"] == "required"
    said = evidence(found, "store.auth")
    assert "user auditor: password authentication failed for user" in said
    assert "***" in said
    _no_secret_in(found, errors)


@needs_require_auth
def test_a_cleartext_request_over_plaintext_is_refused_and_reported() -> None:
    server = FakePostgres(AUTH_CLEARTEXT)
    found, errors, _ = _scan(server)
    assert errors == ()
    assert SECRET.encode() not in server.plaintext()  # it never left the scanner
    assert b"auditor" in server.plaintext()  # though the login was tried
    assert facts(found)[ASKED_IN_CLEARTEXT] == "yes"
    assert evidence(found, ASKED_IN_CLEARTEXT) == (
        "the server asked for the password in cleartext (AuthenticationCleartextPassword) "
        "over an unencrypted connection; not sent"
    )
    assert "user auditor: the server asked for the password in cleartext" in evidence(
        found, "store.auth"
    )
    _no_secret_in(found, errors)


@needs_require_auth
def test_a_cleartext_request_is_answered_over_tls_and_its_echo_blanked(tmp_path: Path) -> None:
    server = FakePostgres(AUTH_CLEARTEXT, tls=server_tls(tmp_path, FAKE_ADDRESS))
    found, errors, _ = _scan(server)
    assert errors == ()
    assert SECRET.encode() not in server.plaintext()
    assert SECRET.encode() in server.over_tls()  # TLS protects it: it may go there
    assert facts(found)[ASKED_IN_CLEARTEXT] == "yes"
    assert "you sent '***'" in evidence(found, "store.auth")
    _no_secret_in(found, errors)


def test_a_server_dripping_its_login_answer_is_cut_off_at_the_time_budget() -> None:
    found, errors, elapsed = _scan(FakePostgres(AUTH_MD5, slow_login=True), time_budget=3.0)
    assert errors == ()  # the probe stopped by itself
    assert "stopped at the time budget" in evidence(found, "store.auth")
    assert elapsed < 30  # generous: the budget is 3 s, the drip would take minutes


def test_a_server_dripping_a_query_answer_is_cut_off_at_the_time_budget() -> None:
    # libpq waits for a query's answer without any timeout: only the watchdog ends it.
    def slow_answer(conn: socket.socket) -> None:
        drip(conn, pg_message(b"T", b"\0\x01" + b"datname" * 1000))

    server = FakePostgres(AUTH_OK, after_login=slow_answer)
    found, errors, elapsed = _scan(server, time_budget=3.0)
    assert errors == ()
    assert facts(found)["store.auth"] == "none"
    assert "stopped at the time budget: the server had not finished" in gaps(found)
    assert elapsed < 30
