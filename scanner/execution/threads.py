"""The executor on this machine (the default): `options.parallel` batches at
a time, each its nmap process and then its hosts' probes in its own thread,
so that probing one batch overlaps the next batches' nmap runs."""

from __future__ import annotations

from collections.abc import Sequence

from scanner.discovery.nmap_runs import (
    BatchOutcome,
    Discovery,
    DiscoveryObserver,
    DiscoveryOptions,
    discover,
)
from scanner.execution.work import probed
from scanner.model import Target
from scanner.probes.context import ProbeContext


def run_threads(
    targets: Sequence[Target],
    options: DiscoveryOptions,
    probes: ProbeContext,
    observers: Sequence[DiscoveryObserver] = (),
    completed: Sequence[BatchOutcome] = (),
) -> Discovery:
    return discover(targets, options, observers, completed, after=lambda o: probed(o, probes))
