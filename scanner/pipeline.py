"""Compose the stages: targets -> discover -> probe -> evaluate -> ScanResult."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scanner import __version__
from scanner import checkpoint as saved
from scanner.discovery import Discovery, DiscoveryObserver, DiscoveryOptions, discover
from scanner.model import NmapRun, ScanResult, Target
from scanner.nmap_xml import parse_file
from scanner.probes import ProbeContext, run_probes
from scanner.result_io import SCHEMA_VERSION
from scanner.rules import Rule, evaluate


@dataclass(frozen=True)
class ScanRequest:
    targets: tuple[Target, ...]
    rules: tuple[Rule, ...]
    rule_sources: tuple[str, ...]
    discovery: DiscoveryOptions = field(default_factory=DiscoveryOptions)
    probes: ProbeContext = field(default_factory=ProbeContext)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _assemble(
    started: str,
    targets: Sequence[str],
    found: Discovery,
    rules: Sequence[Rule],
    rule_sources: Sequence[str],
    probes: ProbeContext,
) -> ScanResult:
    answered = {h.address for h in found.hosts} | {n for h in found.hosts for n in h.hostnames}
    observations, probe_errors = run_probes(found.hosts, probes)
    findings = evaluate(found.hosts, observations, rules)
    return ScanResult(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        started=started,
        finished=now(),
        targets=tuple(targets),
        nmap=found.nmap,
        hosts=found.hosts,
        observations=observations,
        findings=findings,
        probe_errors=found.errors + probe_errors,
        rule_sources=tuple(rule_sources),
        unanswered=tuple(t for t in targets if t not in answered),
    )


def scan(
    request: ScanRequest,
    observers: Sequence[DiscoveryObserver] = (),
    checkpoint: Path | None = None,
    resume: bool = False,
) -> ScanResult:
    """Run the scan. With `checkpoint`, each finished batch is saved there as it
    completes; with `resume` too, batches a killed run saved are not scanned again.
    The caller removes the checkpoint once the result is safely written."""
    started = now()
    if checkpoint is None:
        found = discover(request.targets, request.discovery, observers)
    else:
        key = saved.scan_key(request.targets, request.discovery)
        completed = saved.load(checkpoint, key) if resume else []
        writer = saved.CheckpointWriter(checkpoint, key, resumed=bool(completed))
        try:
            found = discover(request.targets, request.discovery, [*observers, writer], completed)
        finally:
            writer.close()
    return _assemble(
        started,
        [t.value for t in request.targets],
        found,
        request.rules,
        request.rule_sources,
        request.probes,
    )


def scan_nmap_xml(path: Path, rules: Sequence[Rule], rule_sources: Sequence[str]) -> ScanResult:
    """Audit an nmap XML file made elsewhere: evaluate only, send no packet."""
    started = now()
    report = parse_file(path)
    commands = (report.args,) if report.args else ()
    return ScanResult(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        started=started,
        finished=now(),
        targets=tuple(h.address for h in report.hosts),
        nmap=NmapRun(version=report.version, commands=commands, source=str(path)),
        hosts=report.hosts,
        findings=evaluate(report.hosts, (), rules),
        rule_sources=tuple(rule_sources),
    )
