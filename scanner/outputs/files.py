"""Where a finished scan's reports go: paths checked before the scan starts,
each format written, the JSON result first.

The conventions, for every command that writes reports:

- `-o FILE` writes the HTML report, or, with one `--format FMT`, that format
  (`--format sarif -o r.sarif`). With several `--format`s it would be
  ambiguous, and is refused.
- A path whose name ends as another format's does (`--format sarif -o
  r.html`, `--json r.sarif`) is refused: one of the two is a mistake, and
  the wrong format under a trusted name is worse than stopping. An ending no
  format claims (`.txt`, none) is taken as given.
- `-` is standard output, for any format (`--json -`, `-o -`); only one
  output can go there.
- With no output at all, the command prints its findings table instead
  (`outputs.table`).
- A regular file is replaced atomically; a symlink's target is replaced and
  the link kept; a FIFO, a character device or a file descriptor
  (`/dev/stdout`) is written through (`support.atomic.write_output`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from scanner.formats import DEFAULT_FILE_NAMES, OutputFormat, formatter_for, rendered
from scanner.model import ScanResult
from scanner.outputs.gate import Gate
from scanner.support.atomic import destination, write_output, write_pieces
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

STDOUT = "-"

# Each format's own path option; `-o` may name any format (see `dash_o_format`).
_OPTION = {
    OutputFormat.HTML: "-o",
    OutputFormat.JSON: "--json",
    OutputFormat.SARIF: "--sarif",
    OutputFormat.JUNIT: "--junit",
    OutputFormat.MARKDOWN: "--markdown",
}

# The name endings each format is known by. `r.sarif.json` is SARIF (GitHub's
# upload action takes both): the longest ending that matches decides.
SUFFIXES: Mapping[OutputFormat, tuple[str, ...]] = {
    OutputFormat.HTML: (".html", ".htm"),
    OutputFormat.JSON: (".json",),
    OutputFormat.SARIF: (".sarif", ".sarif.json"),
    OutputFormat.JUNIT: (".xml",),
    OutputFormat.MARKDOWN: (".md", ".markdown"),
}


@dataclass(frozen=True)
class OutputPlan:
    """The outputs a command writes: files by format, and the one format (if
    any) that goes to standard output. Neither: it prints the findings table."""

    files: dict[OutputFormat, Path] = field(default_factory=dict)
    stdout: OutputFormat | None = None
    # The option that named each output, for messages (-o may name any format).
    options: dict[OutputFormat, str] = field(default_factory=dict)

    @property
    def table(self) -> bool:
        return not self.files and self.stdout is None

    def option(self, fmt: OutputFormat) -> str:
        return self.options.get(fmt, _OPTION[fmt])


def named_format(path: Path) -> OutputFormat | None:
    """The format a file name's ending names, if one does."""
    name = path.name.lower()
    endings = sorted(
        ((suffix, fmt) for fmt, suffixes in SUFFIXES.items() for suffix in suffixes),
        key=lambda item: -len(item[0]),
    )
    return next((fmt for suffix, fmt in endings if name.endswith(suffix)), None)


def check_suffix(fmt: OutputFormat, path: Path, option: str) -> None:
    """Refuse a path named as another format's file."""
    said = named_format(path)
    if said is not None and said is not fmt:
        raise InputError(
            f"{option} {path} would write {fmt.value} into a file named as {said.value}: "
            f"give it a name ending in {' or '.join(SUFFIXES[fmt])}"
        )


def dash_o_format(formats: Sequence[OutputFormat]) -> OutputFormat:
    """What `-o` writes: the one `--format` given, else the HTML report."""
    distinct = list(dict.fromkeys(formats))
    if len(distinct) > 1:
        raise InputError(
            f"-o names one file, and --format names {len(distinct)} formats "
            f"({', '.join(f.value for f in distinct)}): give each its own path option "
            "(--json, --sarif, --junit, --markdown), or write them all with --output-dir"
        )
    return distinct[0] if distinct else OutputFormat.HTML


def explicit_outputs(
    dash_o: str | None,
    formats: Sequence[OutputFormat],
    named: Mapping[OutputFormat, str | None],
) -> tuple[dict[OutputFormat, str], dict[OutputFormat, str]]:
    """The path options by format, `-o`'s under the format it writes, and the
    option that named each. `named` holds --json, --sarif, --junit, --markdown."""
    given = {fmt: value for fmt, value in named.items() if value is not None}
    options = {fmt: _OPTION[fmt] for fmt in given}
    if dash_o is not None:
        fmt = dash_o_format(formats)
        if fmt in given:
            raise InputError(f"-o and {_OPTION[fmt]} both name the {fmt.value} output: give one")
        given[fmt] = dash_o
        options[fmt] = "-o"
    return given, options


def write_outputs(
    result: ScanResult,
    plan: OutputPlan,
    gate: Gate | None = None,
    progress: Progress = QUIET,
    sarif_category: str = "",
    stdout: BinaryIO | None = None,
) -> list[Path]:
    """Write each output, the JSON result first; the files written. `stdout`
    (default: this process's) is where the output named `-` goes."""
    judge = (gate or Gate()).judge(result)
    written: list[Path] = []
    wanted = [fmt for fmt in _WRITE_ORDER if fmt in plan.files or fmt is plan.stdout]
    for done, fmt in enumerate(wanted):
        what = (
            "writing to standard output"
            if fmt is plan.stdout
            else f"writing {plan.files[fmt].name}"
        )
        # The report and the result say how far they are themselves; the others, by file.
        formatter = formatter_for(fmt, judge, sarif_category, progress, what)
        text = rendered(formatter, result)
        if fmt is plan.stdout:
            progress.step(what, done, len(wanted), "files")
            _to_stdout(text, stdout)
            continue
        path = plan.files[fmt]
        progress.step(what, done, len(wanted), "files")
        try:
            write_output(path, text)
        except OSError as exc:
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(path)
    if wanted:
        progress.step("written", len(wanted), len(wanted), "files")
    return written


def write_page(output: str, text: str) -> None:
    """One page a command made (not a scan's outputs): to standard output for
    `-`, else written as `write_output` writes (atomic for a regular file)."""
    if output == "-":
        _to_stdout([text], None)
        return
    path = Path(output)
    try:
        write_output(path, text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _to_stdout(text: Iterable[str], stream: BinaryIO | None) -> None:
    if stream is None:
        sys.stdout.flush()  # anything printed before goes first
        stream = sys.stdout.buffer
    try:
        write_pieces(stream, text)
    except BrokenPipeError:
        # The reader stopped reading (`| head`): it has what it wanted. The
        # descriptor now points at /dev/null so that Python's flush at exit
        # does not fail on it again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


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
    explicit: Mapping[OutputFormat, str | Path | None],
    formats: Iterable[OutputFormat] = (),
    output_dir: Path | None = None,
    options: Mapping[OutputFormat, str] | None = None,
) -> OutputPlan:
    """The outputs, checked before a scan starts.

    `explicit` holds the path options by format (None: not given); the string
    `-` is standard output (a `Path("-")` is a file named `-`), for at most
    one format. Each explicit file's name must not name another format.
    `output_dir` is created when a format goes there under its default name
    and the directory is missing (its parent must exist), and every file must
    be writable (`ensure_writable`). `options` names the option behind each
    explicit path, for messages."""
    formats = tuple(formats)
    options = dict(options or {})
    given = {fmt: value for fmt, value in explicit.items() if value is not None}
    to_stdout = [fmt for fmt, value in given.items() if isinstance(value, str) and value == STDOUT]
    if len(to_stdout) > 1:
        named = " and ".join(f"{options.get(f, _OPTION[f])} -" for f in to_stdout)
        raise InputError(
            f"only one output can go to standard output, not {named}: give the others a file"
        )
    files = {fmt: Path(value) for fmt, value in given.items() if fmt not in to_stdout}
    for fmt, path in files.items():
        check_suffix(fmt, path, options.get(fmt, _OPTION[fmt]))
    if output_dir is not None and any(fmt not in given for fmt in formats):
        make_output_dir(output_dir)
    paths = output_paths(dict(files), [f for f in formats if f not in to_stdout], output_dir)
    ensure_writable(*paths.values())
    stdout = to_stdout[0] if to_stdout else None
    if stdout is not None:
        for fmt, path in paths.items():
            if is_stdout(path):
                raise InputError(
                    f"{options.get(fmt, _OPTION[fmt])} {path} is standard output, where "
                    f"{options.get(stdout, _OPTION[stdout])} - writes already: give one a file"
                )
    return OutputPlan(paths, stdout, options)


def is_stdout(path: Path) -> bool:
    """Whether `path` is this process's standard output: `/dev/stdout`, or
    the file, pipe or terminal it was redirected to."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(1))  # what /dev/stdout names
    except (OSError, ValueError):
        return False


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
    cannot be written: where it is replaced (a regular file, a symlink's
    target) its directory must be writable; where it is written through (a
    FIFO, a device) the file itself."""
    for path in paths:
        if path is None:
            continue
        where = destination(path)  # refuses directories, sockets, block devices
        if where.through:
            if where.fd is None and not os.access(where.path, os.W_OK):
                raise InputError(f"cannot write {path}: no permission to write it")
            continue
        directory = where.path.parent
        if not directory.is_dir():
            # The directory as the user named it, unless a symlink led elsewhere.
            named = path.parent if str(path.parent) else Path(".")
            shown = named if Path(os.path.abspath(path)) == where.path else directory
            raise InputError(f"cannot write {path}: directory {shown} does not exist")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise InputError(f"cannot write {path}: no permission to write in {directory}")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: through symlinks, `..` and hard links."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they lead
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwrites(
    outputs: Mapping[OutputFormat, Path] | OutputPlan,
    inputs: Iterable[tuple[str, Path | None]],
) -> None:
    """Fail before any work when an output would overwrite an input (the
    result being re-rendered, the nmap XML, a target file) or another output.

    `inputs` pairs a description ("the scan result", "the progress file")
    with its path; None paths are ignored. Standard output (`-`) is no file:
    it overwrites nothing."""
    plan = outputs if isinstance(outputs, OutputPlan) else OutputPlan(dict(outputs))
    named = [
        (f"the {fmt.value} output ({plan.option(fmt)} {path})", path)
        for fmt, path in plan.files.items()
    ]
    for i, (label, path) in enumerate(named):
        for other_label, other in named[i + 1 :]:
            if _same_file(path, other):
                raise InputError(f"{label} and {other_label} are the same file; give each its own")
        for what, source in inputs:
            if source is not None and _same_file(path, source):
                raise InputError(f"{label} would overwrite {what} {source}; write it elsewhere")
