"""`trustscan scan` and `trustscan local`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.assessment.cost import DEFAULT_COST, CostBasis
from scanner.cli.accept import Accepting, accept_options, with_acceptance
from scanner.cli.baseline import LAST, against, baseline_option
from scanner.cli.finish import finish, interrupted
from scanner.cli.group import cli
from scanner.cli.options import (
    FIREWALL_PROBES,
    Outputs,
    cost_options,
    history_options,
    inventory_of,
    inventory_option,
    output_options,
    rules_option,
    with_builtin_rules,
)
from scanner.discovery.targets import DEFAULT_MAX_HOSTS
from scanner.formats import OutputFormat
from scanner.support.progress import QUIET

if TYPE_CHECKING:
    from scanner.assessment.baseline import Baseline
    from scanner.history.recording import Session
    from scanner.model import ScanResult


@cli.command()
@click.argument("targets", nargs=-1)
@click.option(
    "-p",
    "--ports",
    help="Ports as nmap takes them, in place of the default: nmap's 1,000 most common "
    "TCP ports and the data-store and administration ports of rules/ports.yaml.",
)
@click.option(
    "--extra-ports",
    metavar="PORTS",
    help="Ports to scan besides the default or -p: numbers and ranges, e.g. 8080,9000-9010.",
)
@click.option("--exclude", multiple=True, help="Target to leave out (same forms as TARGET).")
@click.option(
    "--max-hosts",
    type=click.IntRange(1),
    default=DEFAULT_MAX_HOSTS,
    show_default=True,
    help="Refuse to scan more addresses than this.",
)
@click.option(
    "--nmap-xml",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Evaluate this nmap XML file instead of running nmap.",
)
@rules_option
@inventory_option
@baseline_option
@history_options
@cost_options
@output_options
@accept_options
@click.option(
    "--parallel",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="nmap processes run at once.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(0),
    default=0,
    help="Targets per nmap process (0: chosen from the target count).",
)
@click.option(
    "--batch-timeout",
    type=click.FloatRange(1),
    default=1800.0,
    show_default=True,
    help="Seconds before one nmap batch is given up (its hosts are recorded as errors).",
)
@click.option(
    "--executor",
    type=click.Choice(["threads", "dask"]),
    default="threads",
    show_default=True,
    help="Where the batches (nmap and the probes of its hosts) run: this machine's "
    "threads, or a Dask cluster (--scheduler; without it, a local cluster of 2 workers).",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:8786",
    help="The Dask scheduler to send batches to (--executor dask); see docs/distributed.md.",
)
@click.option(
    "--site",
    "sites",
    multiple=True,
    metavar="BLOCK=NAME",
    help="Run the targets of BLOCK only on Dask workers offering the resource site-NAME "
    "(repeatable); a site with no worker is reported as not covered.",
)
@click.option(
    "--nmap",
    "nmap_path",
    envvar="TRUSTSCAN_NMAP",
    metavar="PATH",
    help="The nmap binary to run (default: nmap on PATH). Env: TRUSTSCAN_NMAP.",
)
@click.option(
    "--nmap-arg",
    "nmap_args",
    multiple=True,
    metavar="ARG",
    help="An extra nmap option, e.g. --nmap-arg=-T4 (repeatable).",
)
@click.option("--assume-up", is_flag=True, help="Skip host discovery (nmap -Pn).")
@click.option(
    "--firewall-probe",
    type=click.Choice(FIREWALL_PROBES),
    default="none",
    show_default=True,
    help="ack: a second nmap pass (-sA, needs root) that tells filtered from unfiltered "
    "ports without a service behind them.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue a scan that was interrupted: skip the batches saved in JSON.partial.",
)
@click.option(
    "--credentials",
    "credentials_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A YAML file of data-store credentials to log in with (never on the command line).",
)
@click.option(
    "--try-default-credentials",
    is_flag=True,
    help="Also try a short list of vendor default passwords on data stores.",
)
@click.option(
    "--inspect-data",
    is_flag=True,
    help="Sample a few values per column through the personal-data detectors (masked).",
)
@click.option(
    "--sample-size",
    type=click.IntRange(1, 100),
    default=20,
    show_default=True,
    help="Values sampled per column, field or key pattern with --inspect-data.",
)
@click.option(
    "--ca-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="PEM CA certificates to trust besides the system's (an internal CA).",
)
@click.option(
    "--local",
    "with_local",
    is_flag=True,
    help="Also audit this machine from the inside (as `trustscan local` does).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no summary.")
def scan(
    targets: tuple[str, ...],
    ports: str | None,
    extra_ports: str | None,
    exclude: tuple[str, ...],
    max_hosts: int,
    nmap_xml: Path | None,
    rule_dirs: tuple[Path, ...],
    inventory_file: Path | None,
    cost: CostBasis | None,
    outputs: Outputs,
    accepting: Accepting,
    parallel: int,
    batch_size: int,
    batch_timeout: float,
    executor: str,
    scheduler: str | None,
    sites: tuple[str, ...],
    nmap_path: str | None,
    nmap_args: tuple[str, ...],
    assume_up: bool,
    firewall_probe: str,
    resume: bool,
    credentials_file: Path | None,
    try_default_credentials: bool,
    inspect_data: bool,
    sample_size: int,
    ca_file: Path | None,
    with_local: bool,
    baseline: Baseline | str | None,
    history: Session,
    quiet: bool,
) -> None:
    """Scan TARGETs: IPs, hostnames, CIDRs (127.0.0.0/28), ranges (127.0.0.1-20), @file."""
    from scanner import pipeline
    from scanner.discovery.ack_scan import FirewallProbe
    from scanner.discovery.checkpoint import partial_path
    from scanner.discovery.nmap_runs import DiscoveryOptions
    from scanner.discovery.targets import resolve_targets
    from scanner.outputs.files import refuse_overwrites
    from scanner.outputs.progress import TerminalProgress, wants_progress
    from scanner.probes.context import ProbeContext
    from scanner.probes.credentials import load_credentials
    from scanner.rule_engine.loader import load_rules

    json_out = outputs.paths.get(OutputFormat.JSON)
    refuse_overwrites(
        outputs.plan,
        [
            ("the nmap XML", nmap_xml),
            ("the inventory", inventory_file),
            ("the credentials file", credentials_file),
            ("the CA file", ca_file),
            ("the progress file", partial_path(json_out) if json_out is not None else None),
            *(("the target file", Path(t[1:])) for t in targets if t.startswith("@")),
        ],
    )
    from scanner.execution.options import execution_options

    execution = execution_options(executor, scheduler, sites)
    dirs = with_builtin_rules(rule_dirs)
    rules = load_rules(dirs)
    inventory = inventory_of(inventory_file)
    cost = cost or DEFAULT_COST
    sources = [str(d) for d in dirs]
    checkpoint: Path | None = None
    progress = TerminalProgress() if wants_progress(quiet) else None
    shown = progress if progress is not None else QUIET
    try:
        if nmap_xml is not None:
            if targets:
                raise click.UsageError("give either TARGETs or --nmap-xml, not both")
            result = pipeline.scan_nmap_xml(nmap_xml, rules, sources, inventory, cost, shown)
        elif with_local and not targets:
            result = pipeline.local_scan(rules, sources, inventory=inventory, cost=cost)
        else:
            resolved = resolve_targets(targets, exclude, max_hosts)
            options = DiscoveryOptions(
                ports=ports,
                extra_ports=extra_ports,
                batch_size=batch_size,
                parallel=parallel,
                batch_timeout=batch_timeout,
                assume_up=assume_up,
                nmap_path=nmap_path,
                extra_args=nmap_args,
            )
            result_path = outputs.paths.get(OutputFormat.JSON)
            if resume and result_path is None:
                raise click.UsageError(
                    "--resume needs --json or --format json: progress is saved beside the result"
                )
            checkpoint = partial_path(result_path) if result_path is not None else None
            try:
                result = pipeline.scan(
                    pipeline.ScanRequest(
                        resolved,
                        rules,
                        tuple(sources),
                        options,
                        probes=ProbeContext(
                            credentials=(
                                load_credentials(credentials_file) if credentials_file else ()
                            ),
                            try_default_credentials=try_default_credentials,
                            inspect_data=inspect_data,
                            sample_size=sample_size,
                            ca_file=ca_file,
                        ),
                        firewall_probe=FirewallProbe(firewall_probe),
                        inventory=inventory,
                        cost=cost,
                        execution=execution,
                    ),
                    [progress] if progress is not None else [],
                    checkpoint,
                    resume,
                    shown,
                )
            except KeyboardInterrupt as exc:
                if progress is not None:
                    progress.close()
                interrupted(exc, checkpoint)
        if with_local and (targets or nmap_xml is not None):
            local_result = pipeline.local_scan(rules, sources)
            result = pipeline.merged(result, local_result, inventory, cost, shown)
        result = _compared(result, baseline, history, outputs)
        result = with_acceptance(result, accepting, quiet)
        finish(result, outputs, quiet, checkpoint, shown, history=history, command="scan")
    finally:
        if progress is not None:
            progress.close()


def _compared(
    result: ScanResult, baseline: Baseline | str | None, history: Session, outputs: Outputs
) -> ScanResult:
    """The result with the scope it was asked for, compared with its baseline
    (`last`: the previous run of that scope in the history)."""
    from scanner.assessment.baseline import Baseline
    from scanner.assessment.scope import scope_of
    from scanner.history.recording import last_baseline

    if outputs.sarif_category:
        result = replace(result, scope=scope_of(result, outputs.sarif_category))
    if baseline == LAST:
        return against(result, last_baseline(history, scope_of(result)))
    return against(result, baseline if isinstance(baseline, Baseline) else None)


@cli.command("local")
@rules_option
@inventory_option
@baseline_option
@history_options
@cost_options
@output_options
@accept_options
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
def local(
    rule_dirs: tuple[Path, ...],
    inventory_file: Path | None,
    baseline: Baseline | str | None,
    history: Session,
    cost: CostBasis | None,
    outputs: Outputs,
    accepting: Accepting,
    quiet: bool,
) -> None:
    """Audit this machine from the inside: its firewall rules (nftables, iptables,
    ufw, firewalld) and the data stores listening on the network. Run as root to
    read the rules; without root it says what it could not read."""
    from scanner import pipeline
    from scanner.outputs.files import refuse_overwrites
    from scanner.rule_engine.loader import load_rules

    refuse_overwrites(outputs.plan, [("the inventory", inventory_file)])
    dirs = with_builtin_rules(rule_dirs)
    rules = load_rules(dirs)
    inventory = inventory_of(inventory_file)
    cost = cost or DEFAULT_COST
    result = pipeline.local_scan(rules, [str(d) for d in dirs], inventory=inventory, cost=cost)
    result = _compared(result, baseline, history, outputs)
    result = with_acceptance(result, accepting, quiet)
    finish(result, outputs, quiet, history=history, command="local")
