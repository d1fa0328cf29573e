"""Read and write `ScanResult` JSON files, the hub every report comes from."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from json.encoder import encode_basestring
from operator import attrgetter
from pathlib import Path

from scanner.model import ScanResult
from scanner.support.atomic import write_text_atomic
from scanner.support.codec import DecodeError, from_data
from scanner.support.errors import InputError
from scanner.support.json_files import load_json
from scanner.support.progress import QUIET, Progress

# 1.1: Host.probed_ports, host-level observations and findings (port null).
# 1.2: ScanResult.rule_set; the assessment's remediation plan and customer-trust summary.
# 1.3: ScanResult.selection (a report of a part of a scan).
# 1.4: backport verdicts, known-exploited CVEs, CVEs fixed by the distribution,
#      the ports' choice and the data sources.
# 1.5: finding subjects, the baseline comparison, accepted risks.
# 1.6: the scope and the scan history's view of the run.
# 1.7: where the batches ran (threads or Dask) and which ran again.
# 1.8: the coverage: ports, silence and gaps, the checks that found nothing,
#      the CVEs distributions fixed, how records were counted, what is not tested.
SCHEMA_VERSION = "1.8"
# Every version this code reads: each minor version only added fields with
# defaults, so older results decode into today's model. A result is written
# back as SCHEMA_VERSION, never under the label it was read with.
READ_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8")
_MAX_RESULT_BYTES = 512 * 1024 * 1024
# Items of a long tuple (findings, observations, hosts) `compact_chunks`
# encodes in one call: the C encoder's speed, a few MB of text at a time.
_GROUP = 1000
_VERSION = re.compile(r"([0-9]{1,6})\.([0-9]{1,6})")


# Pieces of text `chunks` joins into one before it hands them on: each
# costs a write, and most are a few characters.
_PIECES = 4096


class _ModelEncoder(json.JSONEncoder):
    """Encodes the model's dataclasses one level at a time, as the encoder
    reaches them, so that no copy of the whole result is built as data."""

    def default(self, o: object) -> object:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            kind = _kind(o)
            return dict(zip(kind.names, kind.values(o), strict=True))
        return super().default(o)


@dataclasses.dataclass(frozen=True)
class _Kind:
    """A dataclass's field names in order, what reads their values, and each
    field's `"name": ` as the indented text writes it."""

    names: tuple[str, ...]
    values: Callable[[object], tuple[object, ...]]
    keys: tuple[str, ...]


_KINDS: dict[type, _Kind] = {}  # looked up once per class, not per object


def _kind(o: object) -> _Kind:
    kind = _KINDS.get(o.__class__)
    if kind is None:
        names = tuple(f.name for f in dataclasses.fields(o))  # type: ignore[arg-type]
        if len(names) == 1:
            one = attrgetter(names[0])
            values: Callable[[object], tuple[object, ...]] = lambda v: (one(v),)  # noqa: E731
        elif names:
            values = attrgetter(*names)
        else:
            values = lambda v: ()  # noqa: E731
        keys = tuple(f"{encode_basestring(name)}: " for name in names)
        kind = _KINDS[o.__class__] = _Kind(names, values, keys)
    return kind


_INDENTS = ["\n" + "  " * level for level in range(64)]


def _indent(level: int) -> str:
    return _INDENTS[level] if level < len(_INDENTS) else "\n" + "  " * level


class _Told:
    """How many of the result's records (its hosts, observations, findings,
    ...) are written, said to `progress` with each piece."""

    def __init__(self, progress: Progress, what: str, total: int) -> None:
        self.progress, self.what, self.total, self.done = progress, what, total, 0

    def tell(self) -> None:
        self.progress.step(self.what, self.done, self.total, "records")


def chunks(
    result: ScanResult, progress: Progress = QUIET, what: str = "writing the result"
) -> Iterator[str]:
    """The result's JSON, piece by piece, for writing as a stream; the same
    text as `dumps`, and as `json.dumps(indent=2, ensure_ascii=False)` writes
    it, by a writer made for the model's types (several times faster than
    `JSONEncoder.iterencode`, whose generators pass on each piece alone).
    Enums are `(str, Enum)`: they encode as their value. `progress` hears,
    as `what`, how many records of the result's lists are written."""
    current = replace(result, schema_version=SCHEMA_VERSION)
    lists = [v for v in _kind(current).values(current) if isinstance(v, tuple)]
    told = _Told(progress, what, sum(len(v) for v in lists))
    out: list[str] = []
    yield from _streamed(current, 0, out, told)
    out.append("\n")
    yield "".join(out)
    told.tell()


def _streamed(o: object, level: int, out: list[str], told: _Told | None = None) -> Iterator[str]:
    """`_written`, handing the text on as it goes: a dataclass field by field
    (the result, its assessment, ...), a tuple item by item, each item (a
    finding, a host) written whole."""
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        for value in _fields(o, level, out):
            # The result's own lists are its records (level 0: the result).
            yield from _streamed(value, level + 1, out, told if level == 0 else None)
    elif isinstance(o, tuple | list) and o:
        inner = _indent(level + 1)
        for index, item in enumerate(o):
            out.append(("[" if index == 0 else ",") + inner)
            _written(item, level + 1, out)
            if told is not None:
                told.done += 1
            if len(out) >= _PIECES:
                yield "".join(out)
                out.clear()
                if told is not None:
                    told.tell()
        out.append(_indent(level) + "]")
    else:
        _written(o, level, out)


def _fields(o: object, level: int, out: list[str]) -> Iterator[object]:
    """A dataclass's opening, each field's key (its value handed back to be
    written after it) and its closing, as `_ModelEncoder.default` makes it."""
    kind = _kind(o)
    if not kind.keys:
        out.append("{}")
        return
    inner = _indent(level + 1)
    for index, (key, value) in enumerate(zip(kind.keys, kind.values(o), strict=True)):
        out.append(("{" if index == 0 else ",") + inner + key)
        yield value
    out.append(_indent(level) + "}")


def _written(o: object, level: int, out: list[str]) -> None:
    """`o` as `JSONEncoder(indent=2, ensure_ascii=False)` writes it at `level`:
    the same tests in the same order (a `str` first, so a `(str, Enum)` is its
    value; `True` before `int`), and a dataclass as `_ModelEncoder.default`
    makes it, its fields in order."""
    if isinstance(o, str):
        out.append(encode_basestring(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, int):
        out.append(int.__repr__(o))
    elif isinstance(o, float):
        out.append(_float(o))
    elif isinstance(o, tuple | list):
        if not o:
            out.append("[]")
            return
        inner = _indent(level + 1)
        for index, item in enumerate(o):
            out.append(("[" if index == 0 else ",") + inner)
            _written(item, level + 1, out)
        out.append(_indent(level) + "]")
    elif isinstance(o, dict):
        if not o:
            out.append("{}")
            return
        inner = _indent(level + 1)
        for index, (key, value) in enumerate(o.items()):
            if not isinstance(key, str):
                raise TypeError(f"keys must be str, not {type(key).__name__}")
            out.append(("{" if index == 0 else ",") + inner + encode_basestring(key) + ": ")
            _written(value, level + 1, out)
        out.append(_indent(level) + "}")
    elif dataclasses.is_dataclass(o) and not isinstance(o, type):
        for value in _fields(o, level, out):
            _written(value, level + 1, out)
    else:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _float(o: float) -> str:
    """As `json` writes a float (`allow_nan`, its default)."""
    if o != o:
        return "NaN"
    if o == math.inf:
        return "Infinity"
    if o == -math.inf:
        return "-Infinity"
    return float.__repr__(o)


def dumps(result: ScanResult) -> str:
    return "".join(chunks(result))


def compact(result: ScanResult) -> str:
    """The result's JSON without indentation, in one piece: the C encoder's
    speed, for a store (the scan history) rather than a reader. `loads` reads it."""
    current = replace(result, schema_version=SCHEMA_VERSION)
    return json.dumps(current, cls=_ModelEncoder, ensure_ascii=False, separators=(",", ":"))


def compact_chunks(
    result: ScanResult, progress: Progress = QUIET, what: str = "", group: int = _GROUP
) -> Iterator[str]:
    """`compact`'s text, piece by piece: the same characters, never the whole
    text at once. The dataclasses down to the long tuples are written field by
    field, each long tuple `group` items at a time, encoded by the C encoder
    (the pure-Python `iterencode` is several times slower). `progress` hears
    of the findings encoded, as `what`."""
    current = replace(result, schema_version=SCHEMA_VERSION)
    encode = _ModelEncoder(ensure_ascii=False, separators=(",", ":")).encode
    total = len(current.findings)
    said = [-1]

    def encoded(done: int) -> None:
        if done != said[0]:
            progress.step(what, done, total, "findings")
            said[0] = done

    yield "{"
    for index, item in enumerate(dataclasses.fields(current)):
        yield ("," if index else "") + encode(item.name) + ":"
        value = getattr(current, item.name)
        yield from _pieces(value, encode, group, encoded if item.name == "findings" else None)
    yield "}"
    encoded(total)


def _pieces(
    value: object,
    encode: Callable[[object], str],
    group: int,
    encoded: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """`value` as the C encoder writes it, in pieces of at most `group` items."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # As `_ModelEncoder.default` makes it: the fields in order.
        names = [item.name for item in dataclasses.fields(value)]
        for index, name in enumerate(names):
            yield ("{" if index == 0 else ",") + encode(name) + ":"
            yield from _pieces(getattr(value, name), encode, group)
        yield "}" if names else "{}"
    elif isinstance(value, tuple | list) and len(value) > group:
        for start in range(0, len(value), group):
            encoded_group = encode(value[start : start + group])  # "[a,b]": its items go on
            yield ("[" if start == 0 else ",") + encoded_group[1:-1]
            if encoded is not None:
                encoded(min(start + group, len(value)))
        yield "]"
    else:
        yield encode(value)


def loads(text: str, origin: str = "<result>") -> ScanResult:
    """The result in `text`, in today's model; an `InputError` naming `origin`
    (and the line, for JSON that does not parse) for anything else."""
    return _decoded(load_json(text, origin), origin)


def _check_version(version: object, origin: str) -> None:
    if isinstance(version, str) and version in READ_VERSIONS:
        return
    reads = ", ".join(READ_VERSIONS)
    shown = json.dumps(version)[:40] if isinstance(version, str | int | float) else "not a string"
    match = _VERSION.fullmatch(version) if isinstance(version, str) else None
    if match is not None:
        numbers = (int(match[1]), int(match[2]))
        major, minor = (int(part) for part in SCHEMA_VERSION.split("."))
        if numbers > (major, minor):
            raise InputError(
                f"{origin}: scan result schema {version} was written by a newer trustscan; "
                f"upgrade trustscan to read it (this one reads {reads})"
            )
    raise InputError(
        f"{origin}: scan result schema_version {shown} is not supported by this "
        f"trustscan (it reads {reads})"
    )


def write(result: ScanResult, path: Path) -> None:
    write_text_atomic(path, dumps(result))


def read(path: Path) -> ScanResult:
    return _decoded(load_json(path, what="scan result", max_bytes=_MAX_RESULT_BYTES), str(path))


def _decoded(data: object, origin: str) -> ScanResult:
    if not isinstance(data, dict) or "schema_version" not in data:
        raise InputError(f"{origin}: not a trustscan scan result (no schema_version)")
    _check_version(data["schema_version"], origin)
    try:
        result = from_data(ScanResult, data)
    except DecodeError as exc:
        raise InputError(f"{origin}: invalid scan result: {exc}") from None
    return replace(result, schema_version=SCHEMA_VERSION)
