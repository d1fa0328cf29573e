"""Discovery: run nmap over the targets, in batches.

Each batch is its own nmap process with its own timeout, so one slow batch
loses only its own hosts (recorded as a `ProbeError`), and batches run in
parallel. `nmap_process` starts and stops the processes (python-nmap finds
the binary); the XML nmap writes is parsed by `nmap_xml`, which keeps the
`<extraports>`, CPEs and reasons python-nmap's parser drops.

Which ports: `ports.choose_ports` makes one `-p` list (nmap's most common
ports and the data-store ports of `rules/ports.yaml`, or the user's `-p`,
with `--extra-ports` added); the ACK scan and the checkpoint use the same.

An interrupted scan (Ctrl-C, SIGTERM) drops the queued batches and stops the
running nmap processes at once; the batches that finished were already
handed to the observers (the checkpoint file saves them as they complete).
"""

from __future__ import annotations

import ipaddress
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from scanner.discovery.nmap_process import (
    NmapExit,
    NmapProcesses,
    nmap_binary,
    nmap_pool,
    one_line,
    run_nmap,
    scratch_dir,
    stderr_problem,
)
from scanner.discovery.nmap_xml import NmapReport, NmapXmlError, parse_file
from scanner.discovery.ports import PortChoice, choose_ports
from scanner.model import Host, NmapRun, Observation, ProbeError, Target, TargetKind
from scanner.support.errors import InputError, ScanFailed

# Options trustscan controls itself; letting them through would break parsing.
_FORBIDDEN_ARGS = ("-oX", "-oA", "-oN", "-oG", "-oS", "-iL", "--resume", "-6")
# Options that choose ports: nmap takes one choice, and trustscan always gives -p.
_PORT_ARGS = ("--top-ports", "--port-ratio", "-F")


@dataclass(frozen=True)
class DiscoveryOptions:
    ports: str | None = None  # -p as given; None: the default (`ports.choose_ports`)
    extra_ports: str | None = None  # --extra-ports: added to whichever ports are in effect
    batch_size: int = 0  # 0: choose from the number of targets
    parallel: int = 4
    batch_timeout: float = 1800.0
    version_intensity: int | None = None
    assume_up: bool = False
    extra_args: tuple[str, ...] = ()
    nmap_path: str | None = None  # None: look on PATH and the usual places


@dataclass(frozen=True)
class Discovery:
    hosts: tuple[Host, ...]
    nmap: NmapRun
    errors: tuple[ProbeError, ...]
    # What the batches' own probes found, when probes ran with each batch
    # (`discover(after=...)`, the executors of `scanner.execution`).
    observations: tuple[Observation, ...] = ()
    probe_errors: tuple[ProbeError, ...] = ()
    # Batches that ran more than once (a Dask worker died under them).
    retried: tuple[str, ...] = ()
    workers: tuple[str, ...] = ()  # where batches ran, when not here


@dataclass(frozen=True)
class BatchOutcome:
    """One nmap process: its targets and either its report or why it failed;
    with the probes of its hosts when they ran with the batch."""

    targets: tuple[Target, ...]
    report: NmapReport | None
    error: ProbeError | None
    observations: tuple[Observation, ...] = ()
    probe_errors: tuple[ProbeError, ...] = ()
    label: str = ""  # "batch 3 (10.0.0.9-12)"
    attempts: int = 1  # more than 1: its worker was lost and it ran again
    worker: str = ""  # where it ran (a Dask worker's address), "" here


@dataclass(frozen=True)
class BatchPlan:
    """What `discover` will run: the nmap binary, the options with their one
    port list, the batches not yet done, and how far a resumed scan is."""

    binary: str
    options: DiscoveryOptions
    batches: tuple[tuple[Target, ...], ...]
    done: int
    total: int


class DiscoveryObserver(Protocol):
    """Told as batches finish: the progress bar and the checkpoint file listen."""

    def batch_done(self, outcome: BatchOutcome | None, done: int, total: int) -> None: ...


def nmap_arguments(options: DiscoveryOptions, ipv6: bool) -> list[str]:
    for arg in options.extra_args:
        name = arg.split("=", 1)[0]
        if name in _FORBIDDEN_ARGS:
            raise InputError(f"nmap option {arg!r} is set by trustscan itself; remove it")
        # -p80, -p-: lower-case -p (upper-case -P options choose ping probes).
        if name in _PORT_ARGS or (arg.startswith("-p") and not arg.startswith("--")):
            raise InputError(
                f"nmap option {arg!r} chooses ports, which trustscan gives nmap as one list: "
                "use -p PORTS (instead of the default) or --extra-ports PORTS (in addition)"
            )
    args = ["-sV", "--reason"]
    if options.version_intensity is not None:
        args += ["--version-intensity", str(options.version_intensity)]
    if options.assume_up:
        args.append("-Pn")
    if ipv6:
        args.append("-6")
    return args + list(options.extra_args)


def with_ports(options: DiscoveryOptions) -> tuple[DiscoveryOptions, PortChoice]:
    """The options as nmap gets them, `ports` the one list in effect and
    nothing left to add, and how those ports were chosen. Giving it options it
    returned changes nothing (and runs no nmap)."""
    choice = choose_ports(options.ports, options.extra_ports, options.nmap_path, options.extra_args)
    return replace(options, ports=choice.argument, extra_ports=None), choice


def make_batches(targets: Sequence[Target], options: DiscoveryOptions) -> list[tuple[Target, ...]]:
    """Split by address family (nmap cannot mix them) and into parallel batches."""
    families: dict[bool, list[Target]] = {False: [], True: []}
    for target in targets:
        families[is_ipv6(target)].append(target)
    size = options.batch_size
    if size <= 0:
        # Enough batches to keep every worker busy, few enough that nmap's own
        # parallelism inside a batch still pays off.
        size = max(1, min(64, -(-len(targets) // max(1, options.parallel))))
    batches: list[tuple[Target, ...]] = []
    for family in (False, True):
        items = families[family]
        batches.extend(tuple(items[i : i + size]) for i in range(0, len(items), size))
    return batches


def is_ipv6(target: Target) -> bool:
    if target.kind is TargetKind.HOSTNAME:
        return False
    return ipaddress.ip_address(target.value).version == 6


def batch_label(batch: Sequence[Target], index: int | None = None) -> str:
    span = batch[0].value + (f" .. {batch[-1].value}" if len(batch) > 1 else "")
    return f"batch {index + 1} ({span})" if index is not None else span


def nmap_command(arguments: Sequence[str], ports: str | None, batch: Sequence[Target]) -> list[str]:
    return [*arguments, *(["-p", ports] if ports else []), *(t.value for t in batch)]


def _ended_how(returncode: int | None) -> str:
    if returncode is None:
        return "it was stopped"
    if returncode < 0:
        return f"it was killed by {signal.Signals(-returncode).name}"
    return f"it exited with code {returncode} and no complete XML"


def read_report(ended: NmapExit, label: str, timeout: float) -> tuple[NmapReport | None, str, str]:
    """The report of a finished nmap run, or (None, reason, message) saying why there is none.

    nmap may write to stderr and still finish its XML (a host it could not
    resolve): a complete report wins over what it said."""
    if ended.timed_out:
        return None, "timeout", f"nmap did not finish within {timeout:g}s"
    said = stderr_problem(ended.stderr)
    try:
        report = parse_file(ended.xml)
    except NmapXmlError as exc:
        if ended.returncode != 0 or not ended.xml.exists():
            return None, "nmap-error", f"nmap failed: {said or _ended_how(ended.returncode)}"
        # The scratch file's name means nothing to the user; the batch does.
        return None, "bad-xml", str(exc).replace(str(ended.xml), f"nmap's XML of {label}")
    except InputError as exc:  # the XML file could not be read at all
        # Killed or failed before it wrote its XML: how it ended says more
        # than a missing scratch file does.
        how = _ended_how(ended.returncode) if ended.returncode != 0 else exc
        return None, "nmap-error", f"nmap failed: {said or how}"
    # The XML names our scratch file; the command as the user would type it says -oX -.
    report = replace(report, args=report.args.replace(str(ended.xml), "-"))
    if report.error:
        return None, "nmap-error", f"nmap reported: {one_line(report.error)}"
    if not report.finished:
        why = said or "its XML ends before <runstats>"
        return None, "nmap-error", f"nmap did not finish: {why}"
    return report, "", ""


def run_batch(
    batch: tuple[Target, ...],
    options: DiscoveryOptions,
    index: int,
    binary: str,
    processes: NmapProcesses,
) -> BatchOutcome | None:
    """One batch's nmap run; None when the scan was cancelled before it ended."""
    label = batch_label(batch, index)
    arguments = nmap_command(nmap_arguments(options, is_ipv6(batch[0])), options.ports, batch)
    timeout = options.batch_timeout or None
    with scratch_dir() as work:
        ended = run_nmap(binary, arguments, Path(work), timeout, processes)
        if ended.cancelled:
            return None
        report, reason, message = read_report(ended, label, options.batch_timeout)
    if report is not None:
        return BatchOutcome(batch, report, None, label=label)
    if reason == "timeout":
        message += f"; {len(batch)} target(s) of this batch were not scanned"
    return BatchOutcome(batch, None, ProbeError("discovery", label, reason, message), label=label)


def plan_batches(
    targets: Sequence[Target],
    options: DiscoveryOptions,
    completed: Sequence[BatchOutcome] = (),
    groups: Sequence[Sequence[Target]] | None = None,
) -> BatchPlan:
    """The batches of the targets not already in `completed` (a resumed
    scan's), checked before anything runs: nmap is there, no forbidden
    option. `groups`: targets that must not share a batch with each other's
    (the sites of a distributed scan); default, one group."""
    binary = nmap_binary(options.nmap_path)  # fail fast, before any thread, without nmap
    for ipv6 in (False, True):
        nmap_arguments(options, ipv6)  # reject forbidden options up front
    options, _ = with_ports(options)
    skip = {t.value for outcome in completed for t in outcome.targets}
    batches: list[tuple[Target, ...]] = []
    for group in groups if groups is not None else [targets]:
        batches += make_batches([t for t in group if t.value not in skip], options)
    total = len(targets)
    done = total - sum(len(b) for b in batches)
    return BatchPlan(binary, options, tuple(batches), done, total)


def discover(
    targets: Sequence[Target],
    options: DiscoveryOptions,
    observers: Sequence[DiscoveryObserver] = (),
    completed: Sequence[BatchOutcome] = (),
    after: Callable[[BatchOutcome], BatchOutcome] | None = None,
) -> Discovery:
    """Scan all targets not already in `completed` (a resumed scan's batches),
    `options.parallel` batches at a time. `after`: what to do with each
    batch's outcome in its own thread as soon as its nmap is done (probe its
    hosts), so that the next batches' nmap runs meanwhile.

    Raise ScanFailed only when no batch produced a result.
    """
    plan = plan_batches(targets, options, completed)
    done = plan.done
    for observer in observers:
        observer.batch_done(None, done, plan.total)
    finished: list[tuple[int, BatchOutcome]] = []

    def batch(
        index: int, targets: tuple[Target, ...], processes: NmapProcesses
    ) -> BatchOutcome | None:
        outcome = run_batch(targets, plan.options, index, plan.binary, processes)
        if outcome is None or after is None or outcome.report is None:
            return outcome
        return after(outcome)

    with nmap_pool(min(plan.options.parallel, len(plan.batches))) as (pool, processes):
        futures = {
            pool.submit(batch, i, targets, processes): i for i, targets in enumerate(plan.batches)
        }
        for future in as_completed(futures):
            outcome = future.result()
            if outcome is None:
                continue  # cancelled: the interrupt is on its way in this thread
            finished.append((futures[future], outcome))
            done += len(outcome.targets)
            for observer in observers:
                observer.batch_done(outcome, done, plan.total)
    ordered = [o for _, o in sorted(finished, key=lambda item: item[0])]
    return assemble([*completed, *ordered])


def assemble(outcomes: Sequence[BatchOutcome]) -> Discovery:
    """The batches' outcomes as one discovery: each host once, in batch order."""
    reports = [o.report for o in outcomes if o.report is not None]
    errors = tuple(o.error for o in outcomes if o.error is not None)
    if not reports and errors:
        raise ScanFailed(f"nmap failed for every batch: {errors[0].message}")
    seen: set[str] = set()
    hosts: list[Host] = []
    for report in reports:
        for host in report.hosts:
            if host.address not in seen:
                seen.add(host.address)
                hosts.append(host)
    version = next((r.version for r in reports if r.version), "")
    return Discovery(
        hosts=tuple(hosts),
        nmap=NmapRun(version=version, commands=tuple(r.args for r in reports)),
        errors=errors,
        observations=tuple(o for outcome in outcomes for o in outcome.observations),
        probe_errors=tuple(e for outcome in outcomes for e in outcome.probe_errors),
        retried=tuple(
            f"{o.label or batch_label(o.targets)} ran {o.attempts} times: a worker was lost "
            "under it; its hosts are counted once"
            for o in outcomes
            if o.attempts > 1
        ),
        workers=tuple(sorted({o.worker for o in outcomes if o.worker})),
    )
