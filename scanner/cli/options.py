"""Options several commands share: rules, inventory, breach cost, outputs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from scanner.assessment.inventory import Inventory, load_inventory
from scanner.assessment.trust import DEFAULT_COST, cost_basis
from scanner.formats import DEFAULT_FILE_NAMES, OutputFormat
from scanner.outputs.files import prepare_outputs
from scanner.outputs.gate import FailOn
from scanner.support.resources import builtin_rules_dir


def with_builtin_rules(extra: tuple[Path, ...], builtin: bool = True) -> list[Path]:
    return ([builtin_rules_dir()] if builtin else []) + list(extra)


fail_on_option = click.option(
    "--fail-on",
    type=click.Choice([f.value for f in FailOn]),
    default=FailOn.NEVER.value,
    show_default=True,
    help="Exit 1 when a finding is at or above this severity. Never hides findings.",
)


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
    return click.option(*names, type=click.Path(path_type=Path, dir_okay=False), help=help)


DEFAULT_NAMES_HELP = ", ".join(f"{fmt.value}: {name}" for fmt, name in DEFAULT_FILE_NAMES.items())


@dataclass(frozen=True)
class Outputs:
    """The files a command writes, by format (checked writable), and --fail-on."""

    paths: dict[OutputFormat, Path]
    fail_on: FailOn


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
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
        paths = output_paths(
            formats, output_dir, output, json_path, sarif_path, junit_path, markdown_path
        )
        return command(*args, outputs=Outputs(paths, FailOn(fail_on)), **kwargs)

    wrapped: Callable[..., Any] = with_outputs
    for option in reversed(
        (
            click.option(
                "--format",
                "formats",
                multiple=True,
                type=click.Choice([f.value for f in OutputFormat]),
                help=f"Write this format under its default name in --output-dir "
                f"(repeatable; {DEFAULT_NAMES_HELP}). A path option for the same format "
                "(-o, --json, --sarif, --junit, --markdown) wins over the default name.",
            ),
            click.option(
                "--output-dir",
                type=click.Path(path_type=Path),
                metavar="DIR",
                help="Where --format writes (default: the current directory); created "
                "if missing when its parent exists. Path options are not moved there.",
            ),
            output_file_option("-o", "--output", help="Write the HTML report here."),
            output_file_option("--json", "json_path", help="Write the ScanResult JSON here."),
            output_file_option(
                "--sarif", "sarif_path", help="Write SARIF 2.1.0 here (for GitHub code scanning)."
            ),
            output_file_option(
                "--junit",
                "junit_path",
                help="Write JUnit XML here: one test case per rule and host, failing when "
                "one of its findings is at or above --fail-on (every case with --fail-on never).",
            ),
            output_file_option(
                "--markdown",
                "markdown_path",
                help="Write a Markdown summary here (for a pull-request comment).",
            ),
            fail_on_option,
        )
    ):
        wrapped = option(wrapped)
    return wrapped


def output_paths(
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
