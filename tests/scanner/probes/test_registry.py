"""The probe runner: probes apply by service, a failing probe never stops the scan,
no password a probe sent comes back out, and no probe outlives its time budget."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from urllib.parse import quote

from fixtures.lab.servers import Lab
from scanner.model import Host, Observation, Service
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.credentials import StoreCredential
from scanner.probes.runner import run_probes
from tests.scanner.probes.peers import fake, silent
from tests.support import REPO


def _http_head(host: Host, service: Service, ctx: ProbeContext) -> Iterable[Observation]:
    # A real, minimal probe: read the status line of the lab's web server.
    with socket.create_connection((host.address, service.port), timeout=ctx.timeout) as sock:
        sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
        line = sock.recv(ctx.max_bytes).split(b"\r\n", 1)[0].decode("latin-1")
    yield Observation(host.address, service.port, "status", "http.status_line", line)


def _refused(host: Host, service: Service, ctx: ProbeContext) -> Iterable[Observation]:
    with socket.create_connection((host.address, 1), timeout=ctx.timeout):
        return []


def test_probes_run_where_they_apply_and_failures_are_recorded(lab: Lab) -> None:
    web = lab.address_of("apache-2.4.49")
    host = Host(
        web.address,
        services=(
            Service(web.port, "tcp", "open", name="http"),
            Service(22, "tcp", "open", name="ssh"),
        ),
    )
    registry = {
        "status": ProbeSpec("status", lambda s: s.name == "http", _http_head),
        "refused": ProbeSpec("refused", lambda s: s.name == "http", _refused),
    }
    observations, errors = run_probes([host], ProbeContext(timeout=2.0), registry)
    assert [(o.port, o.value) for o in observations] == [(web.port, "HTTP/1.1 200 OK")]
    (error,) = errors
    assert (error.stage, error.target, error.port) == ("probe:refused", web.address, web.port)
    assert error.reason == "ConnectionRefusedError"


# --- what comes back out: no password a probe sent ------------------------------------

SECRET = "Tr0ub4dor&3-runner-test"  # noqa: S105  # a password no output may hold


def _echo(conn: socket.socket) -> None:
    # A hostile peer that quotes back whatever it is sent.
    while data := conn.recv(4096):
        conn.sendall(b"you sent '" + data.strip() + b"'\n")


def _said_to(host: Host, service: Service, ctx: ProbeContext) -> list[str]:
    # Log in with the user's password (as it is, URL-encoded, cut short): what came back.
    (credential,) = ctx.credentials_for("redis", host.address, service.port)
    said = []
    with socket.create_connection((host.address, service.port), timeout=ctx.timeout) as sock:
        for form in (credential.password, quote(credential.password), credential.password[:12]):
            sock.sendall(form.encode() + b"\n")
            said.append(sock.recv(4096).decode())
    return said


def _reports(host: Host, service: Service, ctx: ProbeContext) -> Iterable[Observation]:
    said = _said_to(host, service, ctx)
    return [Observation(host.address, service.port, "redis", "store.auth", said[0], " ".join(said))]


def _raises(host: Host, service: Service, ctx: ProbeContext) -> Iterable[Observation]:
    raise ValueError(f"login failed: {_said_to(host, service, ctx)[0]}")  # as a driver's error


def test_a_password_echoed_by_the_target_is_blanked_in_observations_and_errors() -> None:
    with fake(_echo) as peer:
        host = Host(peer.address, services=(Service(peer.port, "tcp", "open", name="redis"),))
        registry = {
            "redis": ProbeSpec("redis", lambda s: True, _reports),
            "redis-raises": ProbeSpec("redis", lambda s: True, _raises),
        }
        credential = StoreCredential("redis", "auditor", SECRET, host=peer.address)
        ctx = ProbeContext(timeout=2.0, credentials=(credential,))
        observations, errors = run_probes([host], ctx, registry)
    shown = "\n".join(f"{o.value} {o.evidence}" for o in observations)
    failed = "\n".join(f"{e.reason} {e.message}" for e in errors)
    assert shown.startswith("you sent '***'")
    assert failed == "ValueError login failed: you sent '***'"
    for text in (shown, failed):
        assert SECRET not in text
        assert quote(SECRET, safe="") not in text
        assert SECRET[:12] not in text  # an echo cut short


def test_vendor_defaults_are_blanked_where_quoted_when_tried() -> None:
    def echo_default(host: Host, service: Service, ctx: ProbeContext) -> Iterable[Observation]:
        said = "Access denied (using password: YES): you sent 'password'"
        yield Observation(host.address, service.port, "mysql", "store.auth", "required", said)

    host = Host("127.0.51.21", services=(Service(3306, "tcp", "open", name="mysql"),))
    registry = {"mysql": ProbeSpec("mysql", lambda s: True, echo_default)}
    (tried,), _ = run_probes([host], ProbeContext(try_default_credentials=True), registry)
    assert tried.evidence == "Access denied (using password: YES): you sent '***'"
    (untried,), _ = run_probes([host], ProbeContext(), registry)
    assert untried.evidence.endswith("you sent 'password'")


# --- how long: no probe outlives its time budget --------------------------------------


def _stuck(host: Host, service: Service, ctx: ProbeContext) -> Iterable[Observation]:
    # A driver with no bound of its own: it waits for an answer forever.
    with socket.create_connection((host.address, service.port), timeout=ctx.timeout) as sock:
        sock.settimeout(None)
        sock.recv(1)
    return []


def _quick(host: Host, service: Service, ctx: ProbeContext) -> Iterable[Observation]:
    yield Observation(host.address, service.port, "quick", "quick.done", "yes")


def test_a_probe_stuck_past_its_budget_is_recorded_and_the_scan_goes_on() -> None:
    with fake(silent) as peer:
        host = Host(peer.address, services=(Service(peer.port, "tcp", "open", name="x"),))
        registry = {
            "stuck": ProbeSpec("stuck", lambda s: True, _stuck),
            "quick": ProbeSpec("quick", lambda s: True, _quick),
        }
        started = time.monotonic()
        found, errors = run_probes([host], ProbeContext(timeout=1.0, time_budget=1.0), registry)
        elapsed = time.monotonic() - started
    assert [o.key for o in found] == ["quick.done"]
    (error,) = errors
    assert (error.stage, error.reason) == ("probe:stuck", "TimeBudget")
    assert error.message.startswith("stopped at the time budget")
    assert elapsed < 30  # the budget and grace are 4 s; the stuck probe would wait forever


_STUCK_SCAN = """
import socket, sys
from scanner.model import Host, Service
from scanner.probes.runner import run_probes
from scanner.probes.context import ProbeContext, ProbeSpec
from tests.scanner.probes.peers import fake, silent
from tests.scanner.probes.test_registry import _stuck

with fake(silent) as peer:
    host = Host(peer.address, services=(Service(peer.port, "tcp", "open", name="x"),))
    registry = {"stuck": ProbeSpec("stuck", lambda s: True, _stuck)}
    _, errors = run_probes([host], ProbeContext(timeout=1.0, time_budget=1.0), registry)
    print(errors[0].message)
"""


def test_a_stuck_probe_does_not_keep_the_process_alive() -> None:
    # The stuck probe's thread is still blocked when the scan ends: the process exits anyway.
    done = subprocess.run(
        [sys.executable, "-c", _STUCK_SCAN],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stopped at the time budget")
