"""Probes: one module a protocol, looked up in a registry.

A probe is a function from (`Host`, `Service`, `ProbeContext`) to
observations. It never raises for a target's behaviour; if it raises anyway,
the runner records a `ProbeError` and the scan goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from scanner.model import Host, Observation, ProbeError, Service


@dataclass(frozen=True)
class ProbeContext:
    timeout: float = 5.0
    max_bytes: int = 64 * 1024


Probe = Callable[[Host, Service, ProbeContext], Iterable[Observation]]
# Which probe applies to a service: a predicate on the service.
Applies = Callable[[Service], bool]


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    applies: Applies
    run: Probe


# Probe modules register themselves here; later issues add http, tls,
# datastores and firewall probes.
REGISTRY: dict[str, ProbeSpec] = {}


def run_probes(
    hosts: Iterable[Host],
    context: ProbeContext,
    registry: Mapping[str, ProbeSpec] = REGISTRY,
) -> tuple[tuple[Observation, ...], tuple[ProbeError, ...]]:
    observations: list[Observation] = []
    errors: list[ProbeError] = []
    for host in hosts:
        for service in host.services:
            for spec in registry.values():
                if not spec.applies(service):
                    continue
                try:
                    observations.extend(spec.run(host, service, context))
                except Exception as exc:
                    errors.append(
                        ProbeError(
                            stage=f"probe:{spec.name}",
                            target=host.address,
                            port=service.port,
                            reason=type(exc).__name__,
                            message=str(exc)[:300] or type(exc).__name__,
                        )
                    )
    return tuple(observations), tuple(errors)
