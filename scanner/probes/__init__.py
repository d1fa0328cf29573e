"""Probes: one module a protocol, looked up in a registry.

A probe is a function from (`Host`, `Service`, `ProbeContext`) to
observations. It never raises for a target's behaviour; if it raises anyway,
the runner records a `ProbeError` and the scan goes on.

Inside: `context` (what a probe is given), `tls` and `firewall` (probes of
their own), `web/` and `datastores/` (the web and data-store probes),
`clients/` (protocol clients they talk through), `personal_data` (detectors
and masking), `evidence` (bounding what a target said), `credentials` (the
user's credentials file).

May import: `scanner.banners`, `scanner.model`, `scanner.support`. Never the
rule engine, assessment, formats, outputs, the pipeline or the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from scanner.model import Host, Observation, ProbeError, Service
from scanner.probes import tls
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.datastores import (
    elasticsearch,
    memcached,
    mongodb,
    mysql,
    postgres,
    redis,
)
from scanner.probes.web import http

REGISTRY: dict[str, ProbeSpec] = {
    module.SPEC.name: module.SPEC
    for module in (postgres, mysql, redis, memcached, mongodb, elasticsearch, http, tls)
}

# Probes of different services run side by side: each waits on the network.
PROBE_WORKERS = 8


def _attempt(
    spec: ProbeSpec, host: Host, service: Service, context: ProbeContext
) -> tuple[tuple[Observation, ...], ProbeError | None]:
    try:
        return tuple(spec.run(host, service, context)), None
    except Exception as exc:  # a probe bug must not stop the scan: record it
        # Only the exception's type and first line: a driver's message may
        # quote what the target sent, so it is bounded like everything else.
        first = (str(exc).splitlines() or [""])[0][:300]
        return (), ProbeError(
            stage=f"probe:{spec.name}",
            target=host.address,
            port=service.port,
            reason=type(exc).__name__,
            message=first or type(exc).__name__,
        )


def run_probes(
    hosts: Iterable[Host],
    context: ProbeContext,
    registry: Mapping[str, ProbeSpec] = REGISTRY,
) -> tuple[tuple[Observation, ...], tuple[ProbeError, ...]]:
    """Run every applicable probe; results keep the hosts' and services' order."""
    tasks = [
        (spec, host, service)
        for host in hosts
        for service in host.services
        for spec in registry.values()
        if spec.applies(service)
    ]
    if not tasks:
        return (), ()
    with ThreadPoolExecutor(max_workers=min(PROBE_WORKERS, len(tasks))) as pool:
        outcomes = list(pool.map(lambda t: _attempt(t[0], t[1], t[2], context), tasks))
    observations = tuple(o for found, _ in outcomes for o in found)
    errors = tuple(error for _, error in outcomes if error is not None)
    return observations, errors
