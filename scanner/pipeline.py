"""Compose the stages: targets -> discover -> probe -> evaluate -> assess -> ScanResult."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from scanner import __version__
from scanner.assessment.inventory import Inventory
from scanner.assessment.risk import assessed
from scanner.assessment.trust import DEFAULT_COST, CostBasis
from scanner.discovery import checkpoint as saved
from scanner.discovery.ack_scan import AckPass, FirewallProbe, ack_scan, check_allowed
from scanner.discovery.nmap_process import one_line
from scanner.discovery.nmap_runs import (
    BatchOutcome,
    Discovery,
    DiscoveryObserver,
    DiscoveryOptions,
    with_ports,
)
from scanner.discovery.nmap_xml import parse_file
from scanner.execution.options import ExecutionOptions, Executor
from scanner.execution.threads import run_threads
from scanner.execution.work import probed
from scanner.local.audit import LocalAudit, audit_local
from scanner.model import (
    DataSource,
    Execution,
    Host,
    NmapRun,
    Observation,
    ProbeError,
    ScanResult,
    Target,
)
from scanner.probes.context import ProbeContext
from scanner.probes.firewall import posture_observations
from scanner.result_io import SCHEMA_VERSION
from scanner.rule_engine.advisories import advisory_sources
from scanner.rule_engine.distributions import distribution_observations, support_sources
from scanner.rule_engine.exploited import data_sources
from scanner.rule_engine.loader import rule_set_version
from scanner.rule_engine.rules import Rule, evaluate, finding_order
from scanner.support.progress import QUIET, Progress


@dataclass(frozen=True)
class ScanRequest:
    targets: tuple[Target, ...]
    rules: tuple[Rule, ...]
    rule_sources: tuple[str, ...]
    discovery: DiscoveryOptions = field(default_factory=DiscoveryOptions)
    probes: ProbeContext = field(default_factory=ProbeContext)
    firewall_probe: FirewallProbe = FirewallProbe.NONE
    inventory: Inventory | None = None
    cost: CostBasis = DEFAULT_COST
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _assemble(
    started: str,
    targets: Sequence[str],
    found: Discovery,
    rules: Sequence[Rule],
    rule_sources: Sequence[str],
    probes: ProbeContext,
    ack: AckPass | None = None,
    inventory: Inventory | None = None,
    cost: CostBasis = DEFAULT_COST,
    progress: Progress = QUIET,
    port_choice: str = "",
    execution: Execution | None = None,
) -> ScanResult:
    answered = {h.address for h in found.hosts} | {n for h in found.hosts for n in h.hostnames}
    acked = ack.hosts if ack is not None else {}
    # The executors probe each batch's hosts with the batch (`scanner.execution`).
    observations, probe_errors = found.observations, found.probe_errors
    observations = _postures(found.hosts, acked) + _releases(found.hosts) + observations
    findings = evaluate(found.hosts, observations, rules, progress=progress)
    nmap_run = found.nmap
    if ack is not None:
        nmap_run = replace(nmap_run, commands=nmap_run.commands + ack.commands)
    result = ScanResult(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        started=started,
        finished=now(),
        targets=tuple(targets),
        nmap=nmap_run,
        hosts=found.hosts,
        observations=observations,
        findings=findings,
        probe_errors=found.errors + (ack.errors if ack else ()) + probe_errors,
        rule_sources=tuple(rule_sources),
        rule_set=rule_set_version(rules, rule_sources),
        data_sources=_data_sources(rules),
        unanswered=tuple(t for t in targets if t not in answered),
        port_choice=port_choice,
        execution=execution,
    )
    return assessed(result, inventory, cost, progress)


def _data_sources(rules: Sequence[Rule]) -> tuple[DataSource, ...]:
    """The data behind the findings: exploited CVEs, advisories, release support."""
    return data_sources(rules) + advisory_sources(rules) + support_sources()


def _releases(hosts: Sequence[Host]) -> tuple[Observation, ...]:
    """The distribution release each host's banners point at, and its support today."""
    return distribution_observations(hosts, datetime.now(UTC).date())


def _postures(hosts: Sequence[Host], acked: dict[str, Host]) -> tuple[Observation, ...]:
    # Hosts alike say the same counts and evidence: one copy of each text.
    words: dict[str, str] = {}
    return tuple(
        Observation(
            o.host,
            o.port,
            o.probe,
            o.key,
            words.setdefault(o.value, o.value),
            words.setdefault(o.evidence, o.evidence),
        )
        for h in hosts
        for o in posture_observations(h, acked.get(h.address))
    )


def scan(
    request: ScanRequest,
    observers: Sequence[DiscoveryObserver] = (),
    checkpoint: Path | None = None,
    resume: bool = False,
    progress: Progress = QUIET,
) -> ScanResult:
    """Run the scan. With `checkpoint`, each finished batch is saved there as it
    completes; with `resume` too, batches a killed run saved are not scanned again.
    The caller removes the checkpoint once the result is safely written."""
    if request.firewall_probe is FirewallProbe.ACK:
        check_allowed()  # before nmap runs: a missing root is the user's to fix
    started = now()
    # One port list for discovery, the ACK scan and the checkpoint key.
    options, ports = with_ports(request.discovery)
    if checkpoint is None:
        found = _run_batches(request, options, observers, ())
    else:
        key = saved.scan_key(request.targets, options)
        completed = saved.load(checkpoint, key) if resume else []
        # Saved by a trustscan that probed after discovery: probed now.
        completed = [
            o if o.observations or o.probe_errors else probed(o, request.probes) for o in completed
        ]
        writer = saved.CheckpointWriter(checkpoint, key, resumed=bool(completed))
        try:
            found = _run_batches(request, options, [*observers, writer], completed)
        finally:
            writer.close()
    ack = None
    if request.firewall_probe is FirewallProbe.ACK:
        ack = ack_scan(found.hosts, options)
    return _assemble(
        started,
        [t.value for t in request.targets],
        found,
        request.rules,
        request.rule_sources,
        request.probes,
        ack,
        request.inventory,
        request.cost,
        progress,
        ports.words,
        Execution(
            request.execution.executor.value,
            request.execution.scheduler or "",
            found.workers,
            found.retried,
        ),
    )


def _run_batches(
    request: ScanRequest,
    options: DiscoveryOptions,
    observers: Sequence[DiscoveryObserver],
    completed: Sequence[BatchOutcome],
) -> Discovery:
    """Each batch's nmap and probes, by the executor asked for."""
    if request.execution.executor is Executor.DASK:
        from scanner.execution.dask import run_dask

        return run_dask(
            request.targets, options, request.probes, request.execution, observers, completed
        )
    return run_threads(request.targets, options, request.probes, observers, completed)


def scan_nmap_xml(
    path: Path,
    rules: Sequence[Rule],
    rule_sources: Sequence[str],
    inventory: Inventory | None = None,
    cost: CostBasis = DEFAULT_COST,
    progress: Progress = QUIET,
) -> ScanResult:
    """Audit an nmap XML file made elsewhere: evaluate only, send no packet."""
    started = now()
    report = parse_file(
        path, lambda done, total: progress.step("reading nmap XML", done, total, "bytes")
    )
    commands = (report.args,) if report.args else ()
    observations = _postures(report.hosts, {}) + _releases(report.hosts)
    errors: list[ProbeError] = []
    if report.error:
        errors.append(
            ProbeError(
                "discovery",
                str(path),
                "nmap-error",
                f"the nmap run reported: {one_line(report.error)}",
            )
        )
    # Entries the parser dropped (a port -1, an address 999.1.1.1, a repeated
    # host): said, not silently lost.
    errors += [ProbeError("discovery", str(path), "invalid-entry", note) for note in report.skipped]
    if not report.finished:
        errors.append(
            ProbeError(
                "discovery",
                str(path),
                "incomplete",
                "the XML ends before <runstats>: the nmap run did not finish, "
                "so the hosts it had not reached yet are missing",
            )
        )
    result = ScanResult(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        started=started,
        finished=now(),
        targets=tuple(h.address for h in report.hosts),
        nmap=NmapRun(version=report.version, commands=commands, source=str(path)),
        hosts=report.hosts,
        observations=observations,
        findings=evaluate(report.hosts, observations, rules, progress=progress),
        probe_errors=tuple(errors),
        rule_sources=tuple(rule_sources),
        rule_set=rule_set_version(rules, rule_sources),
        data_sources=_data_sources(rules),
    )
    return assessed(result, inventory, cost, progress)


def local_scan(
    rules: Sequence[Rule],
    rule_sources: Sequence[str],
    audit: LocalAudit | None = None,
    inventory: Inventory | None = None,
    cost: CostBasis = DEFAULT_COST,
) -> ScanResult:
    """Audit this machine from the inside (`trustscan local`): no packet sent."""
    started = now()
    found = audit if audit is not None else audit_local()
    result = ScanResult(
        schema_version=SCHEMA_VERSION,
        tool_version=__version__,
        started=started,
        finished=now(),
        targets=(found.host.address,),
        nmap=NmapRun(source="local"),
        hosts=(found.host,),
        observations=found.observations,
        findings=evaluate((found.host,), found.observations, rules),
        probe_errors=found.errors,
        rule_sources=tuple(rule_sources),
        rule_set=rule_set_version(rules, rule_sources),
        data_sources=_data_sources(rules),
    )
    return assessed(result, inventory, cost)


def merged(
    network: ScanResult,
    local: ScanResult,
    inventory: Inventory | None = None,
    cost: CostBasis = DEFAULT_COST,
    progress: Progress = QUIET,
) -> ScanResult:
    """A network scan and the local audit as one result (`scan --local`)."""
    result = replace(
        network,
        targets=network.targets + local.targets,
        hosts=network.hosts + local.hosts,
        observations=network.observations + local.observations,
        findings=tuple(sorted(network.findings + local.findings, key=finding_order)),
        probe_errors=network.probe_errors + local.probe_errors,
        finished=local.finished,
    )
    return assessed(result, inventory, cost, progress)
