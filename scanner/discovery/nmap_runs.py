"""Discovery: run nmap (through python-nmap) over the targets, in batches.

Each batch is its own nmap process with its own timeout, so one slow batch
loses only its own hosts (recorded as a `ProbeError`), and batches run in
parallel. The XML nmap returns is parsed by `nmap_xml` rather than by
python-nmap, which drops `<extraports>`, CPEs and reasons.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Protocol

import nmap

from scanner.discovery.nmap_xml import NmapReport, NmapXmlError, parse_bytes
from scanner.model import Host, NmapRun, ProbeError, Target, TargetKind
from scanner.support.errors import InputError, ScanFailed

NMAP_MISSING = (
    "nmap was not found: install it (Debian/Ubuntu: `sudo apt-get install nmap`; "
    "macOS: `brew install nmap`) or put it on PATH"
)
# Options trustscan controls itself; letting them through would break parsing.
_FORBIDDEN_ARGS = ("-oX", "-oA", "-oN", "-oG", "-oS", "-iL", "--resume", "-6")


@dataclass(frozen=True)
class DiscoveryOptions:
    ports: str | None = None
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


@dataclass(frozen=True)
class BatchOutcome:
    """One nmap process: its targets and either its report or why it failed."""

    targets: tuple[Target, ...]
    report: NmapReport | None
    error: ProbeError | None


class DiscoveryObserver(Protocol):
    """Told as batches finish: the progress bar and the checkpoint file listen."""

    def batch_done(self, outcome: BatchOutcome | None, done: int, total: int) -> None: ...


def nmap_arguments(options: DiscoveryOptions, ipv6: bool) -> list[str]:
    for arg in options.extra_args:
        if arg.split("=", 1)[0] in _FORBIDDEN_ARGS:
            raise InputError(f"nmap option {arg!r} is set by trustscan itself; remove it")
    args = ["-sV", "--reason"]
    if options.version_intensity is not None:
        args += ["--version-intensity", str(options.version_intensity)]
    if options.assume_up:
        args.append("-Pn")
    if ipv6:
        args.append("-6")
    return args + list(options.extra_args)


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


def scanner_for(options: DiscoveryOptions) -> nmap.PortScanner:
    try:
        if options.nmap_path:
            return nmap.PortScanner(nmap_search_path=(options.nmap_path,))
        return nmap.PortScanner()
    except nmap.PortScannerError as exc:
        if "not found" in message_of(exc):
            raise ScanFailed(NMAP_MISSING) from None
        raise ScanFailed(f"nmap cannot run: {one_line(message_of(exc))}") from None


def message_of(exc: Exception) -> str:
    # python-nmap's exceptions print the repr of their message.
    value = getattr(exc, "value", None)
    return value if isinstance(value, str) else str(exc)


def one_line(text: str) -> str:
    # Keep what nmap said before a Lua stack traceback; one line, bounded.
    text = text.split("stack traceback:", 1)[0]
    lines = [" ".join(line.split()) for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines)[:300] if lines else "no message"


def _run_batch(batch: tuple[Target, ...], options: DiscoveryOptions, index: int) -> BatchOutcome:
    ipv6 = is_ipv6(batch[0])
    hosts = " ".join(shlex.quote(t.value) for t in batch)
    arguments = " ".join(shlex.quote(a) for a in nmap_arguments(options, ipv6))
    label = f"batch {index + 1} ({batch[0].value}" + (
        f" .. {batch[-1].value})" if len(batch) > 1 else ")"
    )
    scanner = scanner_for(options)
    try:
        scanner.scan(
            hosts=hosts,
            ports=options.ports,
            arguments=arguments,
            timeout=int(options.batch_timeout) if options.batch_timeout else 0,
        )
    except nmap.PortScannerTimeout:
        return BatchOutcome(
            batch,
            None,
            ProbeError(
                "discovery",
                label,
                "timeout",
                f"nmap did not finish within {options.batch_timeout:g}s; "
                f"{len(batch)} target(s) of this batch were not scanned",
            ),
        )
    except nmap.PortScannerError as exc:
        # python-nmap raises when nmap wrote anything but warnings to stderr,
        # even if the XML is complete: trust the XML when it parses.
        output = scanner.get_nmap_last_output()
        if output:
            try:
                report = parse_bytes(_as_bytes(output), f"nmap {label}")
            except NmapXmlError:
                pass
            else:
                if report.finished and not report.error:
                    return BatchOutcome(batch, report, None)
        return BatchOutcome(
            batch,
            None,
            ProbeError(
                "discovery", label, "nmap-error", f"nmap failed: {one_line(message_of(exc))}"
            ),
        )
    output = scanner.get_nmap_last_output()
    try:
        report = parse_bytes(_as_bytes(output), f"nmap {label}")
    except NmapXmlError as exc:
        return BatchOutcome(batch, None, ProbeError("discovery", label, "bad-xml", str(exc)))
    if report.error:
        return BatchOutcome(
            batch,
            None,
            ProbeError(
                "discovery", label, "nmap-error", f"nmap reported: {one_line(report.error)}"
            ),
        )
    return BatchOutcome(batch, report, None)


def _as_bytes(output: str | bytes) -> bytes:
    return output.encode("utf-8") if isinstance(output, str) else output


def discover(
    targets: Sequence[Target],
    options: DiscoveryOptions,
    observers: Sequence[DiscoveryObserver] = (),
    completed: Sequence[BatchOutcome] = (),
) -> Discovery:
    """Scan all targets not already in `completed` (a resumed scan's batches).

    Raise ScanFailed only when no batch produced a result.
    """
    scanner_for(options)  # fail fast, before any thread starts, when nmap is missing
    for ipv6 in (False, True):
        nmap_arguments(options, ipv6)  # reject forbidden options up front
    skip = {t.value for outcome in completed for t in outcome.targets}
    batches = make_batches([t for t in targets if t.value not in skip], options)
    total = len(targets)
    done = total - sum(len(b) for b in batches)
    for observer in observers:
        observer.batch_done(None, done, total)
    outcomes: list[BatchOutcome] = list(completed)
    finished: list[tuple[int, BatchOutcome]] = []
    workers = max(1, min(options.parallel, len(batches)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nmap") as pool:
        futures = {pool.submit(_run_batch, batch, options, i): i for i, batch in enumerate(batches)}
        for future in as_completed(futures):
            outcome = future.result()
            finished.append((futures[future], outcome))
            done += len(outcome.targets)
            for observer in observers:
                observer.batch_done(outcome, done, total)
    outcomes.extend(o for _, o in sorted(finished, key=lambda item: item[0]))
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
    )
