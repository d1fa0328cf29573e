"""The probe runner: probes apply by service, and a failing probe never stops the scan."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from fixtures.lab.servers import Lab
from scanner.model import Host, Observation, Service
from scanner.probes import run_probes
from scanner.probes.context import ProbeContext, ProbeSpec


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
