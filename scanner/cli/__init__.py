"""The trustscan command line: parse, delegate, set exit codes; no logic here.

`group` holds the command group and turns trustscan's errors into one line;
each command lives in a module of its own (`scan`, `report`, `rules`, `diff`);
`options` holds the options several commands share (`baseline` the
`--baseline` option) and `finish` what every command does with its result.
Only `scanner.__main__` and the console script import this package.

Importing it declares every command and option and nothing more, so that
`trustscan --help` starts at once: the stages a command runs are imported in
its body, and annotations that name them are `TYPE_CHECKING` imports.
tests/scanner/cli/test_startup.py keeps the heavy ones out.
"""

from __future__ import annotations

import logging
import sys

from scanner.cli import diff, history, report, rules, scan
from scanner.cli.config import configurable
from scanner.cli.group import cli
from scanner.support import signals

__all__ = ["cli", "diff", "history", "main", "report", "rules", "scan"]

# --config FILE and TRUSTSCAN_<OPTION> for the commands a scheduled job runs
# (`scanner.cli.config`), once every option is declared.
configurable(scan.scan, scan.local, report.report)


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
