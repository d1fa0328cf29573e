"""The `trustscan` command group: every command hangs from it, and trustscan's
own errors become one line on stderr and their exit code."""

from __future__ import annotations

from typing import Any

import click

from scanner import __version__
from scanner.support import signals
from scanner.support.errors import TrustscanError
from scanner.support.exit_codes import exit_code_help


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


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=exit_code_help(),
)
@click.version_option(__version__, prog_name="trustscan")
def cli() -> None:
    """Audit hosts for what breaks customer trust: outdated servers, missing
    firewalls, open data stores."""
