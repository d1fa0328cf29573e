"""Errors the CLI turns into one line and an exit code.

`InputError` is the user's to fix (exit 2); `ScanFailed` means the scan
itself could not run (exit 3). Anything a target does is never an error here:
it becomes an observation or a `ProbeError`. The codes are `exit_codes`'.
"""

from scanner.support.exit_codes import ExitCode


class TrustscanError(Exception):
    exit_code: int = ExitCode.USAGE


class InputError(TrustscanError):
    """Bad input from the user: a target, a file, a rule, an option."""

    exit_code = ExitCode.USAGE


class ScanFailed(TrustscanError):
    """The scan could not run: nmap missing, killed or failing."""

    exit_code = ExitCode.SCAN_FAILED
