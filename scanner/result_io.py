"""Read and write `ScanResult` JSON files, the hub every report comes from."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from scanner.model import ScanResult
from scanner.support.atomic import write_text_atomic
from scanner.support.codec import DecodeError, from_data
from scanner.support.errors import InputError
from scanner.support.json_files import load_json

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
_VERSION = re.compile(r"([0-9]{1,6})\.([0-9]{1,6})")


class _ModelEncoder(json.JSONEncoder):
    """Encodes the model's dataclasses one level at a time, as the encoder
    reaches them, so that no copy of the whole result is built as data."""

    def default(self, o: object) -> object:
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
        return super().default(o)


def chunks(result: ScanResult) -> Iterator[str]:
    """The result's JSON, piece by piece, for writing as a stream; the same
    text as `dumps`. Enums are `(str, Enum)`: they encode as their value."""
    current = replace(result, schema_version=SCHEMA_VERSION)
    yield from _ModelEncoder(indent=2, ensure_ascii=False).iterencode(current)
    yield "\n"


def dumps(result: ScanResult) -> str:
    return "".join(chunks(result))


def compact(result: ScanResult) -> str:
    """The result's JSON without indentation, in one piece: the C encoder's
    speed, for a store (the scan history) rather than a reader. `loads` reads it."""
    current = replace(result, schema_version=SCHEMA_VERSION)
    return json.dumps(current, cls=_ModelEncoder, ensure_ascii=False, separators=(",", ":"))


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
