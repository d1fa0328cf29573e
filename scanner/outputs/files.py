"""Where a finished scan's reports go: paths checked before the scan starts,
each format written atomically, the JSON result first."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from scanner.formats import DEFAULT_FILE_NAMES, OutputFormat, formatter_for, rendered
from scanner.model import ScanResult
from scanner.outputs.gate import FailOn, fail_threshold
from scanner.support.atomic import write_text_atomic
from scanner.support.errors import InputError
from scanner.support.progress import QUIET, Progress

# The result first: it is what everything else can be rendered from again.
_WRITE_ORDER = (
    OutputFormat.JSON,
    OutputFormat.HTML,
    OutputFormat.SARIF,
    OutputFormat.JUNIT,
    OutputFormat.MARKDOWN,
)


def write_outputs(
    result: ScanResult,
    paths: Mapping[OutputFormat, Path],
    fail_on: FailOn = FailOn.NEVER,
    progress: Progress = QUIET,
) -> list[Path]:
    """Write each format to its path, the JSON result first."""
    written: list[Path] = []
    wanted = [fmt for fmt in _WRITE_ORDER if fmt in paths]
    for done, fmt in enumerate(wanted):
        path = paths[fmt]
        progress.step(f"writing {path.name}", done, len(wanted), "files")
        try:
            write_text_atomic(path, rendered(formatter_for(fmt, fail_threshold(fail_on)), result))
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    if wanted:
        progress.step("written", len(wanted), len(wanted), "files")
    return written


def output_paths(
    explicit: Mapping[OutputFormat, Path | None],
    formats: Iterable[OutputFormat] = (),
    output_dir: Path | None = None,
) -> dict[OutputFormat, Path]:
    """The file each format asked for is written to.

    `explicit` holds the path options (`-o`, `--json`, `--sarif`, `--junit`,
    `--markdown`; None where one was not given) and `formats` the `--format`
    values. A format with an explicit path is written there, also when
    `--format` names it; a format only `--format` names gets its
    `DEFAULT_FILE_NAMES` name in `output_dir` (None: the current directory).
    A format named twice is written once. Explicit paths stay as given: they
    are not moved into `output_dir`.
    """
    paths = {fmt: path for fmt, path in explicit.items() if path is not None}
    directory = output_dir if output_dir is not None else Path(".")
    for fmt in formats:
        paths.setdefault(fmt, directory / DEFAULT_FILE_NAMES[fmt])
    return paths


def prepare_outputs(
    explicit: Mapping[OutputFormat, Path | None],
    formats: Iterable[OutputFormat] = (),
    output_dir: Path | None = None,
) -> dict[OutputFormat, Path]:
    """`output_paths`, made ready before a scan starts: `output_dir` is created
    when a file goes there under its default name and the directory is missing
    (its parent must exist), and every file must be writable (`ensure_writable`)."""
    formats = tuple(formats)
    if output_dir is not None and any(explicit.get(fmt) is None for fmt in formats):
        make_output_dir(output_dir)
    paths = output_paths(explicit, formats, output_dir)
    ensure_writable(*paths.values())
    return paths


def make_output_dir(directory: Path) -> None:
    """Create `directory` unless it exists; its parent must exist already (a
    mistyped path should fail, not grow a tree)."""
    if directory.is_dir():
        return
    if directory.exists():
        raise InputError(f"cannot write to {directory}: it is not a directory")
    parent = directory.parent if str(directory.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"cannot create {directory}: directory {parent} does not exist")
    try:
        directory.mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {directory}: {exc.strerror or exc}") from None


def ensure_writable(*paths: Path | None) -> None:
    """Fail before a scan starts, not after it ran for an hour, when an output
    cannot be written."""
    for path in paths:
        if path is None:
            continue
        directory = path.parent if str(path.parent) else Path(".")
        if not directory.is_dir():
            raise InputError(f"cannot write {path}: directory {directory} does not exist")
        if path.is_dir():
            raise InputError(f"cannot write {path}: it is a directory")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise InputError(f"cannot write {path}: no permission to write in {directory}")


_OPTION = {
    OutputFormat.HTML: "-o",
    OutputFormat.JSON: "--json",
    OutputFormat.SARIF: "--sarif",
    OutputFormat.JUNIT: "--junit",
    OutputFormat.MARKDOWN: "--markdown",
}


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: through symlinks, `..` and hard links."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they lead
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwrites(
    outputs: Mapping[OutputFormat, Path], inputs: Iterable[tuple[str, Path | None]]
) -> None:
    """Fail before any work when an output would overwrite an input (the
    result being re-rendered, the nmap XML, a target file) or another output.

    `inputs` pairs a description ("the scan result", "the progress file")
    with its path; None paths are ignored."""
    named = [
        (f"the {fmt.value} output ({_OPTION[fmt]} {path})", path) for fmt, path in outputs.items()
    ]
    for i, (label, path) in enumerate(named):
        for other_label, other in named[i + 1 :]:
            if _same_file(path, other):
                raise InputError(f"{label} and {other_label} are the same file; give each its own")
        for what, source in inputs:
            if source is not None and _same_file(path, source):
                raise InputError(f"{label} would overwrite {what} {source}; write it elsewhere")
