"""Options several commands share: rules, inventory, breach cost, outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scanner.assessment.cost import DEFAULT_COST, cost_basis
from scanner.formats import DEFAULT_FILE_NAMES, OutputFormat
from scanner.outputs.gate import FailOn, Gate
from scanner.support.resources import builtin_rules_dir

if TYPE_CHECKING:
    from scanner.assessment.inventory import Inventory
    from scanner.outputs.files import OutputPlan

# What a command needs only once it runs is imported there: every command's
# module imports this one to declare its options, and `trustscan --help`
# should not wait for the inventory's schema or the output writers. Here stays
# what the declarations show: choices, defaults, help texts.


# The values of `--firewall-probe`: `scanner.discovery.ack_scan.FirewallProbe`'s
# (a test keeps them equal), written here because that module brings nmap's
# runner with it, which `trustscan scan --help` has no use for.
FIREWALL_PROBES = ("none", "ack")


def with_builtin_rules(extra: tuple[Path, ...], builtin: bool = True) -> list[Path]:
    return ([builtin_rules_dir()] if builtin else []) + list(extra)


fail_on_option = click.option(
    "--fail-on",
    type=click.Choice([f.value for f in FailOn]),
    default=FailOn.NEVER.value,
    show_default=True,
    help="Exit 1 when a finding is at or above this severity (accepted risks do not "
    "count). Never hides findings.",
)

fail_on_new_option = click.option(
    "--fail-on-new",
    type=click.Choice([f.value for f in FailOn]),
    default=FailOn.NEVER.value,
    show_default=True,
    help="Exit 1 when a finding new or changed against --baseline is at or above this "
    "severity; without a baseline every finding is new.",
)

allow_incomplete_option = click.option(
    "--allow-incomplete",
    is_flag=True,
    help="Exit 0, not 4, when parts of the scan did not happen (a batch timed out, a probe "
    "failed); the summary still names them, and a tripped gate still exits 1.",
)

sarif_category_option = click.option(
    "--scope",
    "--sarif-category",
    "sarif_category",
    metavar="NAME",
    help="The target set this run belongs to (default: a digest of the targets): the scan "
    "history compares runs of one scope, and SARIF's automationDetails.id is "
    "trustscan/NAME/, one category per target set for GitHub code scanning.",
)


history_url_option = click.option(
    "--history",
    "history_url",
    metavar="URL",
    envvar="TRUSTSCAN_HISTORY",
    help="Where the scan history is kept: sqlite:///PATH or postgresql://USER@HOST/DB "
    "(the password in PGPASSWORD or ~/.pgpass, not here). Default: history.sqlite in "
    "$XDG_DATA_HOME/trustscan (~/.local/share/trustscan).",
)


def history_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--history URL` and `--no-history`, handed to the command as `history`:
    the history opened (or why it could not be), before any work."""

    @functools.wraps(command)
    def with_history(*args: Any, history_url: str | None, no_history: bool, **kwargs: Any) -> Any:
        from scanner.history.recording import open_session

        session = open_session(history_url, not no_history)
        try:
            return command(*args, history=session, **kwargs)
        finally:
            session.close()

    wrapped: Callable[..., Any] = with_history
    for option in reversed(
        (
            history_url_option,
            click.option(
                "--no-history",
                is_flag=True,
                help="Do not record this run in the scan history.",
            ),
        )
    ):
        wrapped = option(wrapped)
    return wrapped


rules_option = click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="A directory of your own rules, added to the built-in ones.",
)


inventory_option = click.option(
    "--inventory",
    "inventory_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A YAML asset inventory (system, owner, environment, exposure, customer records) "
    "that weighs the risk scores; see reports/inventory.schema.json.",
)


def inventory_of(path: Path | None) -> Inventory | None:
    from scanner.assessment.inventory import load_inventory

    return load_inventory(path) if path is not None else None


def cost_options(command: Callable[..., Any]) -> Callable[..., Any]:
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


def output_file_option(*names: str, help: str) -> Callable[..., Any]:
    # A string, not a Path: `-` (standard output) must stay apart from a file
    # named `./-`, which a Path would make `-` again.
    return click.option(
        *names, type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE|-", help=help
    )


DEFAULT_NAMES_HELP = ", ".join(f"{fmt.value}: {name}" for fmt, name in DEFAULT_FILE_NAMES.items())


@dataclass(frozen=True)
class Outputs:
    """The outputs a command writes (checked writable), the exit gate and the
    SARIF scope. No output at all: the command prints its findings table."""

    plan: OutputPlan
    gate: Gate
    sarif_category: str = ""

    @property
    def paths(self) -> dict[OutputFormat, Path]:
        """The output files by format (not standard output)."""
        return self.plan.files


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The output options `scan`, `local` and `report` share, handed to the
    command as `outputs`, resolved and checked before the command does any work."""

    @functools.wraps(command)
    def with_outputs(
        *args: Any,
        formats: tuple[str, ...],
        output_dir: Path | None,
        output: str | None,
        json_path: str | None,
        sarif_path: str | None,
        junit_path: str | None,
        markdown_path: str | None,
        fail_on: str,
        fail_on_new: str,
        allow_incomplete: bool,
        sarif_category: str | None,
        **kwargs: Any,
    ) -> Any:
        plan = output_plan(
            formats, output_dir, output, json_path, sarif_path, junit_path, markdown_path
        )
        gate = Gate(FailOn(fail_on), FailOn(fail_on_new), allow_incomplete)
        return command(*args, outputs=Outputs(plan, gate, sarif_category or ""), **kwargs)

    wrapped: Callable[..., Any] = with_outputs
    for option in reversed(
        (
            click.option(
                "--format",
                "formats",
                multiple=True,
                type=click.Choice([f.value for f in OutputFormat]),
                help=f"Write this format under its default name in --output-dir "
                f"(repeatable; {DEFAULT_NAMES_HELP}), or, given once, to -o FILE. A path "
                "option for the same format (--json, --sarif, --junit, --markdown) wins "
                "over the default name.",
            ),
            click.option(
                "--output-dir",
                type=click.Path(path_type=Path),
                metavar="DIR",
                help="Where --format writes (default: the current directory); created "
                "if missing when its parent exists. Path options are not moved there.",
            ),
            output_file_option(
                "-o",
                "--output",
                help="Write the HTML report here, or the one --format given. - is "
                "standard output (for any output option; one at most). With no output "
                "option, a findings table is printed.",
            ),
            output_file_option("--json", "json_path", help="Write the ScanResult JSON here."),
            output_file_option(
                "--sarif", "sarif_path", help="Write SARIF 2.1.0 here (for GitHub code scanning)."
            ),
            output_file_option(
                "--junit",
                "junit_path",
                help="Write JUnit XML here: one test case per rule and host, failing when "
                "one of its findings trips --fail-on or --fail-on-new, skipped when all "
                "its findings are accepted risks.",
            ),
            output_file_option(
                "--markdown",
                "markdown_path",
                help="Write a Markdown summary here (for a pull-request comment).",
            ),
            sarif_category_option,
            fail_on_option,
            fail_on_new_option,
            allow_incomplete_option,
        )
    ):
        wrapped = option(wrapped)
    return wrapped


def output_plan(
    formats: tuple[str, ...],
    output_dir: Path | None,
    dash_o: str | None,
    json_path: str | None,
    sarif: str | None,
    junit: str | None,
    markdown: str | None,
) -> OutputPlan:
    """The outputs asked for, checked writable before any work."""
    from scanner.outputs.files import explicit_outputs, prepare_outputs

    if output_dir is not None and not formats:
        raise click.UsageError("--output-dir is where --format writes: give --format too")
    chosen = [OutputFormat(f) for f in formats]
    named = {
        OutputFormat.JSON: json_path,
        OutputFormat.SARIF: sarif,
        OutputFormat.JUNIT: junit,
        OutputFormat.MARKDOWN: markdown,
    }
    explicit, options = explicit_outputs(dash_o, chosen, named)
    return prepare_outputs(dict(explicit), chosen, output_dir, options)
