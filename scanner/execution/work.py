"""One batch as a unit of work: its nmap run, then the probes of the hosts it
found, on whichever machine runs it. What a Dask worker is sent must be
picklable: the batch, the options and the probe context (with the
credentials, so a cluster's links should be TLS: see docs/distributed.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from scanner.discovery.nmap_process import NmapProcesses, nmap_binary
from scanner.discovery.nmap_runs import BatchOutcome, DiscoveryOptions, run_batch
from scanner.model import ProbeError, Target
from scanner.probes.context import ProbeContext
from scanner.probes.runner import run_probes


@dataclass(frozen=True)
class BatchWork:
    index: int
    targets: tuple[Target, ...]
    options: DiscoveryOptions  # with the port list chosen (`with_ports`)
    probes: ProbeContext
    site: str = ""  # the site its workers must offer ("" any)


def probed(outcome: BatchOutcome, context: ProbeContext) -> BatchOutcome:
    """The batch's outcome with the probes of its hosts."""
    if outcome.report is None:
        return outcome
    observations, errors = run_probes(outcome.report.hosts, context)
    return replace(outcome, observations=observations, probe_errors=errors)


def run_work(work: BatchWork, processes: NmapProcesses | None = None) -> BatchOutcome:
    """Run one batch here: nmap, then its probes. A worker without nmap says
    so as the batch's error, not by failing the task (which Dask would retry
    on the next worker without nmap)."""
    try:
        binary = nmap_binary(work.options.nmap_path)
    except Exception as exc:
        label = f"batch {work.index + 1}"
        error = ProbeError("discovery", label, "nmap-missing", f"on this worker: {exc}")
        return BatchOutcome(work.targets, None, error, label=label)
    outcome = run_batch(
        work.targets, work.options, work.index, binary, processes or NmapProcesses()
    )
    if outcome is None:  # cancelled
        label = f"batch {work.index + 1}"
        error = ProbeError("discovery", label, "cancelled", "the batch was cancelled")
        return BatchOutcome(work.targets, None, error, label=label)
    return probed(outcome, work.probes)
