"""What a probe is given and what it is: the bounds it must keep
(`ProbeContext`) and its entry in the registry (`ProbeSpec`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from scanner.model import Host, Observation, Service
from scanner.probes.credentials import StoreCredential


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
    # Seconds one probe of one service may take in all, every exchange included;
    # the runner stops waiting for it a little after (`probes.runner.GRACE`).
    time_budget: float = 60.0
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
