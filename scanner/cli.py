"""The trustscan command line: parse, delegate, set exit codes; no logic here."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from scanner import __version__
from scanner.assessment.inventory import Inventory, load_inventory
from scanner.assessment.trust import DEFAULT_COST, CostBasis, cost_basis, saved_cost
from scanner.discovery.ack_scan import FirewallProbe
from scanner.discovery.checkpoint import partial_path, saved_batches
from scanner.discovery.nmap_runs import DiscoveryOptions
from scanner.discovery.targets import DEFAULT_MAX_HOSTS, resolve_targets
from scanner.formats import DEFAULT_FILE_NAMES, OutputFormat
from scanner.model import ScanResult, Severity
from scanner.outputs.files import prepare_outputs, refuse_overwrites, write_outputs
from scanner.outputs.gate import FailOn, exceeds
from scanner.outputs.progress import TerminalProgress, wants_progress
from scanner.outputs.summary import summary_line
from scanner.probes.context import ProbeContext
from scanner.probes.credentials import load_credentials
from scanner.rule_engine.loader import lint, load_rules
from scanner.support import signals
from scanner.support.errors import TrustscanError
from scanner.support.progress import QUIET, Progress
from scanner.support.resources import builtin_rules_dir

EXIT_FINDINGS = 1


class _Group(click.Group):
    """Turns trustscan's own errors into one line on stderr and their exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrustscanError as exc:
            click.echo(f"trustscan: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            click.echo(f"trustscan: interrupted by {signals.signal_of(exc).name}", err=True)
            ctx.exit(signals.exit_code(exc))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trustscan")
def cli() -> None:
    """Audit hosts for what breaks customer trust: outdated servers, missing
    firewalls, open data stores."""


def _rule_dirs(extra: tuple[Path, ...], builtin: bool = True) -> list[Path]:
    return ([builtin_rules_dir()] if builtin else []) + list(extra)


_fail_on = click.option(
    "--fail-on",
    type=click.Choice([f.value for f in FailOn]),
    default=FailOn.NEVER.value,
    show_default=True,
    help="Exit 1 when a finding is at or above this severity. Never hides findings.",
)


_rules_option = click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="A directory of your own rules, added to the built-in ones.",
)


_inventory_option = click.option(
    "--inventory",
    "inventory_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A YAML asset inventory (system, owner, environment, exposure, customer records) "
    "that weighs the risk scores; see reports/inventory.schema.json.",
)


def _inventory(path: Path | None) -> Inventory | None:
    return load_inventory(path) if path is not None else None


def _cost_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The breach-cost basis of the customer-trust section (`scanner.assessment.trust`),
    handed to the command as `cost`: checked, or None when no option was given."""

    @functools.wraps(command)
    def with_cost(
        *args: Any,
        cost_per_record: float | None,
        cost_currency: str | None,
        cost_source: str | None,
        **kwargs: Any,
    ) -> Any:
        given = cost_per_record is not None or cost_currency is not None or cost_source is not None
        cost = cost_basis(cost_per_record, cost_currency, cost_source) if given else None
        return command(*args, cost=cost, **kwargs)

    wrapped: Callable[..., Any] = with_cost
    for option in reversed(
        (
            click.option(
                "--cost-per-record",
                type=click.FloatRange(min=0, min_open=True),
                help=f"Breach cost per customer record for the estimate (default "
                f"{DEFAULT_COST.per_record:g} {DEFAULT_COST.currency}: {DEFAULT_COST.source}).",
            ),
            click.option(
                "--cost-currency",
                help=f"ISO 4217 code of --cost-per-record (default {DEFAULT_COST.currency}).",
            ),
            click.option(
                "--cost-source",
                help="Where your --cost-per-record comes from, stated in the report.",
            ),
        )
    ):
        wrapped = option(wrapped)
    return wrapped


def _output_file(*names: str, help: str) -> Callable[..., Any]:
    return click.option(*names, type=click.Path(path_type=Path, dir_okay=False), help=help)


_DEFAULT_NAMES = ", ".join(f"{fmt.value}: {name}" for fmt, name in DEFAULT_FILE_NAMES.items())


@dataclass(frozen=True)
class _Outputs:
    """The files a command writes, by format (checked writable), and --fail-on."""

    paths: dict[OutputFormat, Path]
    fail_on: FailOn


def _outputs(command: Callable[..., Any]) -> Callable[..., Any]:
    """The output options `scan`, `local` and `report` share, handed to the
    command as `outputs`, resolved and checked before the command does any work."""

    @functools.wraps(command)
    def with_outputs(
        *args: Any,
        formats: tuple[str, ...],
        output_dir: Path | None,
        output: Path | None,
        json_path: Path | None,
        sarif_path: Path | None,
        junit_path: Path | None,
        markdown_path: Path | None,
        fail_on: str,
        **kwargs: Any,
    ) -> Any:
        paths = _paths(
            formats, output_dir, output, json_path, sarif_path, junit_path, markdown_path
        )
        return command(*args, outputs=_Outputs(paths, FailOn(fail_on)), **kwargs)

    wrapped: Callable[..., Any] = with_outputs
    for option in reversed(
        (
            click.option(
                "--format",
                "formats",
                multiple=True,
                type=click.Choice([f.value for f in OutputFormat]),
                help=f"Write this format under its default name in --output-dir "
                f"(repeatable; {_DEFAULT_NAMES}). A path option for the same format "
                "(-o, --json, --sarif, --junit, --markdown) wins over the default name.",
            ),
            click.option(
                "--output-dir",
                type=click.Path(path_type=Path),
                metavar="DIR",
                help="Where --format writes (default: the current directory); created "
                "if missing when its parent exists. Path options are not moved there.",
            ),
            _output_file("-o", "--output", help="Write the HTML report here."),
            _output_file("--json", "json_path", help="Write the ScanResult JSON here."),
            _output_file(
                "--sarif", "sarif_path", help="Write SARIF 2.1.0 here (for GitHub code scanning)."
            ),
            _output_file(
                "--junit",
                "junit_path",
                help="Write JUnit XML here: one test case per rule and host, failing when "
                "one of its findings is at or above --fail-on (every case with --fail-on never).",
            ),
            _output_file(
                "--markdown",
                "markdown_path",
                help="Write a Markdown summary here (for a pull-request comment).",
            ),
            _fail_on,
        )
    ):
        wrapped = option(wrapped)
    return wrapped


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
@_rules_option
@_inventory_option
@_cost_options
@_outputs
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
    type=click.Choice([p.value for p in FirewallProbe]),
    default=FirewallProbe.NONE.value,
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
    outputs: _Outputs,
    parallel: int,
    batch_size: int,
    batch_timeout: float,
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
    quiet: bool,
) -> None:
    """Scan TARGETs: IPs, hostnames, CIDRs (127.0.0.0/28), ranges (127.0.0.1-20), @file."""
    from scanner import pipeline

    json_out = outputs.paths.get(OutputFormat.JSON)
    refuse_overwrites(
        outputs.paths,
        [
            ("the nmap XML", nmap_xml),
            ("the inventory", inventory_file),
            ("the credentials file", credentials_file),
            ("the CA file", ca_file),
            ("the progress file", partial_path(json_out) if json_out is not None else None),
            *(("the target file", Path(t[1:])) for t in targets if t.startswith("@")),
        ],
    )
    dirs = _rule_dirs(rule_dirs)
    rules = load_rules(dirs)
    inventory = _inventory(inventory_file)
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
                    ),
                    [progress] if progress is not None else [],
                    checkpoint,
                    resume,
                    shown,
                )
            except KeyboardInterrupt as exc:
                if progress is not None:
                    progress.close()
                _interrupted(exc, checkpoint)
        if with_local and (targets or nmap_xml is not None):
            result = pipeline.merged(result, pipeline.local_scan(rules, sources), inventory, cost)
        _finish(result, outputs, quiet, checkpoint, shown)
    finally:
        if progress is not None:
            progress.close()


def _interrupted(exc: KeyboardInterrupt, checkpoint: Path | None) -> None:
    """Say what an interrupted scan kept, and exit as the signal asks (130, 143)."""
    if checkpoint is None:
        kept = "nothing was saved: progress is kept only beside a result file (--json)"
    elif saved_batches(checkpoint):
        kept = (
            f"{saved_batches(checkpoint)} finished nmap batch(es) saved in {checkpoint}: "
            "run the same command with --resume to continue"
        )
    else:
        kept = f"no nmap batch had finished, so {checkpoint} holds nothing to resume"
    click.echo(f"trustscan: interrupted by {signals.signal_of(exc).name}; {kept}", err=True)
    click.get_current_context().exit(signals.exit_code(exc))


@cli.command("local")
@_rules_option
@_inventory_option
@_cost_options
@_outputs
@click.option("-q", "--quiet", is_flag=True, help="No summary.")
def local(
    rule_dirs: tuple[Path, ...],
    inventory_file: Path | None,
    cost: CostBasis | None,
    outputs: _Outputs,
    quiet: bool,
) -> None:
    """Audit this machine from the inside: its firewall rules (nftables, iptables,
    ufw, firewalld) and the data stores listening on the network. Run as root to
    read the rules; without root it says what it could not read."""
    from scanner import pipeline

    refuse_overwrites(outputs.paths, [("the inventory", inventory_file)])
    dirs = _rule_dirs(rule_dirs)
    rules = load_rules(dirs)
    inventory = _inventory(inventory_file)
    cost = cost or DEFAULT_COST
    result = pipeline.local_scan(rules, [str(d) for d in dirs], inventory=inventory, cost=cost)
    _finish(result, outputs, quiet)


def _paths(
    formats: tuple[str, ...],
    output_dir: Path | None,
    html: Path | None,
    json_path: Path | None,
    sarif: Path | None,
    junit: Path | None,
    markdown: Path | None,
) -> dict[OutputFormat, Path]:
    """The output files asked for, by format, checked writable before any work."""
    if output_dir is not None and not formats:
        raise click.UsageError("--output-dir is where --format writes: give --format too")
    explicit = {
        OutputFormat.HTML: html,
        OutputFormat.JSON: json_path,
        OutputFormat.SARIF: sarif,
        OutputFormat.JUNIT: junit,
        OutputFormat.MARKDOWN: markdown,
    }
    return prepare_outputs(explicit, [OutputFormat(f) for f in formats], output_dir)


def _finish(
    result: ScanResult,
    outputs: _Outputs,
    quiet: bool,
    checkpoint: Path | None = None,
    progress: Progress = QUIET,
) -> None:
    written = write_outputs(result, outputs.paths, outputs.fail_on, progress)
    if isinstance(progress, TerminalProgress):
        progress.close()  # the summary goes on a line of its own
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)  # the result is safely on disk now
    if not quiet:
        click.echo(summary_line(result, written))
    if exceeds(result, outputs.fail_on):
        click.get_current_context().exit(EXIT_FINDINGS)


@cli.command()
@click.argument("result_file", type=click.Path(path_type=Path, dir_okay=False))
@_inventory_option
@_cost_options
@_outputs
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="ADDR|CIDR|NAME",
    help="Report only on these hosts (repeatable): a part of a large scan, assessed again.",
)
@click.option(
    "--min-severity",
    type=click.Choice([s.value for s in Severity]),
    help="Report only findings of this severity or worse.",
)
@click.option("-q", "--quiet", is_flag=True)
def report(
    result_file: Path,
    inventory_file: Path | None,
    cost: CostBasis | None,
    outputs: _Outputs,
    hosts: tuple[str, ...],
    min_severity: str | None,
    quiet: bool,
) -> None:
    """Render reports from a saved ScanResult JSON file; with --inventory or a
    --cost-* option, the risk and customer-trust assessment is computed again,
    and so it is for a part of the scan (--host, --min-severity)."""
    from scanner.assessment.risk import assessed
    from scanner.assessment.selection import narrowed, selection
    from scanner.result_io import read

    if not outputs.paths:
        raise click.UsageError(
            "name an output: --format FMT (repeatable), or -o report.html, --json, --sarif, "
            "--junit and/or --markdown"
        )
    refuse_overwrites(
        outputs.paths, [("the scan result", result_file), ("the inventory", inventory_file)]
    )
    chosen = selection(hosts, min_severity)
    inventory = _inventory(inventory_file)
    result = read(result_file)
    saved = result.assessment
    again = cost is not None or not chosen.empty
    if again and inventory is None and saved is not None and saved.inventory_source:
        why = "with the --cost-* options" if cost is not None else "to assess the part you chose"
        raise click.UsageError(
            f"this result was assessed with the inventory {saved.inventory_source}: "
            f"give --inventory again {why}"
        )
    if not chosen.empty:
        result = narrowed(result, chosen)
    if inventory is not None or again or saved is None:
        result = assessed(result, inventory, cost or saved_cost(saved))
    progress = TerminalProgress() if wants_progress(quiet) else None
    try:
        _finish(result, outputs, quiet, progress=progress if progress is not None else QUIET)
    finally:
        if progress is not None:
            progress.close()


@cli.group()
def rules() -> None:
    """List and check rules."""


@rules.command("list")
@click.option(
    "--rules", "rule_dirs", multiple=True, type=click.Path(path_type=Path, file_okay=False)
)
def rules_list(rule_dirs: tuple[Path, ...]) -> None:
    """List the rules a scan would use."""
    loaded = load_rules(_rule_dirs(rule_dirs))
    width = max((len(r.id) for r in loaded), default=10)
    for rule in sorted(loaded, key=lambda r: (-r.severity.rank, r.id)):
        click.echo(f"{rule.id:<{width}}  {rule.severity.value:<8}  {rule.title}")
    click.echo(f"{len(loaded)} rule(s)", err=True)


@rules.command("lint")
@click.argument(
    "directories", nargs=-1, required=True, type=click.Path(path_type=Path, file_okay=False)
)
def rules_lint(directories: tuple[Path, ...]) -> None:
    """Validate rule files; print every problem as FILE:LINE: message."""
    loaded, problems = lint(list(directories))
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len(directories)} director(ies)", err=True)
        click.get_current_context().exit(2)
    click.echo(f"{len(loaded)} rule(s) OK")


@rules.command("import")
@click.argument("feeds", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory to write the rule files to (one per vulnerability).",
)
@click.option("--product", help="Product id for every record (when the feed's names are unknown).")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Date of lifecycle data (endoflife.date pages): branches ended by then are end of life.",
)
def rules_import(
    feeds: tuple[Path, ...], out_dir: Path, product: str | None, as_of: datetime | None
) -> None:
    """Turn feeds into rules and rule data: OSV and Apache httpd CVE JSON (one
    rule file per vulnerability), endoflife.date product pages (one lifecycle
    file per product) and distribution pages (release support), CISA's KEV
    catalogue, and distribution advisories (Debian Security Tracker JSON,
    DSA/DLA records, Ubuntu OSV notices, Debian changelogs)."""
    from scanner.feeds.importer import import_feeds

    report = import_feeds(list(feeds), out_dir, product, as_of.date() if as_of else None)
    for refused in report.refused:
        click.echo(f"trustscan: refused: {refused}", err=True)
    data = f" and {report.data_written} data file(s)" if report.data_written else ""
    click.echo(
        f"wrote {report.rules_written} rule(s) in {report.files_written} file(s){data} to "
        f"{out_dir}; skipped {len(report.skipped)} input(s) with nothing to import"
        + (f"; refused {len(report.refused)} file(s), listed above" if report.refused else "")
    )


class _OneLine(logging.Formatter):
    """`trustscan: warning: ...`, like the error lines."""

    def format(self, record: logging.LogRecord) -> str:
        return f"trustscan: {record.levelname.lower()}: {record.getMessage()}"


def main() -> None:
    signals.install()
    # Warnings (a credentials file others can read, progress that cannot be
    # saved) go to stderr as one line each, also with --quiet.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    log = logging.getLogger("trustscan")
    log.addHandler(handler)
    log.setLevel(logging.WARNING)
    log.propagate = False
    cli(prog_name="trustscan")
