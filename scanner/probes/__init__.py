"""Probes: one module a protocol, looked up in a registry.

A probe is a function from (`Host`, `Service`, `ProbeContext`) to
observations. It never raises for a target's behaviour; if it raises anyway,
the runner records a `ProbeError` and the scan goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from scanner.credentials import StoreCredential
from scanner.model import Host, Observation, ProbeError, Service


@dataclass(frozen=True)
class ProbeContext:
    """What probes may do, and how far they may go."""

    timeout: float = 5.0  # per network operation (connect, one read)
    max_bytes: int = 64 * 1024  # per response
    # Data stores: credentials from the user's file (never the command line).
    credentials: tuple[StoreCredential, ...] = ()
    try_default_credentials: bool = False  # the short built-in vendor-default list
    inspect_data: bool = False  # sample values through the personal-data detectors
    sample_size: int = 20  # values per column / field / key pattern
    max_containers: int = 200  # tables, collections, indexes, key patterns per store
    max_keys: int = 2000  # keys a key-value store's SCAN may visit
    time_budget: float = 60.0  # seconds one store's probe may take in all
    # A CA bundle to trust besides the system's, for servers with an internal CA.
    ca_file: Path | None = None

    def credentials_for(self, store: str, host: str, port: int) -> tuple[StoreCredential, ...]:
        return tuple(c for c in self.credentials if c.applies(store, host, port))


Probe = Callable[[Host, Service, ProbeContext], Iterable[Observation]]
# Which probe applies to a service: a predicate on the service.
Applies = Callable[[Service], bool]


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    applies: Applies
    run: Probe


REGISTRY: dict[str, ProbeSpec] = {}


def _register() -> None:
    # Imported here: the probe modules import ProbeContext and ProbeSpec from
    # this package, so it must be defined before they load.
    from scanner.probes import (
        elasticsearch,
        http,
        memcached,
        mongodb,
        mysql,
        postgres,
        redis,
        tls,
    )

    for module in (postgres, mysql, redis, memcached, mongodb, elasticsearch, http, tls):
        REGISTRY[module.SPEC.name] = module.SPEC


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


_register()
