"""Read and write `ScanResult` JSON files, the hub every report comes from."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.model import ScanResult
from scanner.support.atomic import write_text_atomic
from scanner.support.codec import DecodeError, from_data, to_data
from scanner.support.errors import InputError
from scanner.support.files import read_text

# 1.1: Host.probed_ports, host-level observations and findings (port null).
# 1.2: ScanResult.rule_set; the assessment's remediation plan and customer-trust summary.
SCHEMA_VERSION = "1.2"
_MAX_RESULT_BYTES = 512 * 1024 * 1024


def dumps(result: ScanResult) -> str:
    return json.dumps(to_data(result), indent=2, ensure_ascii=False) + "\n"


def loads(text: str, origin: str = "<result>") -> ScanResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{origin}:{exc.lineno}: not a JSON scan result ({exc.msg})") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise InputError(f"{origin}: not a trustscan scan result (no schema_version)")
    major = str(data["schema_version"]).split(".", 1)[0]
    if major != SCHEMA_VERSION.split(".", 1)[0]:
        raise InputError(
            f"{origin}: scan result schema {data['schema_version']} is not supported "
            f"by this trustscan (reads {SCHEMA_VERSION})"
        )
    try:
        return from_data(ScanResult, data)
    except DecodeError as exc:
        raise InputError(f"{origin}: invalid scan result: {exc}") from None


def write(result: ScanResult, path: Path) -> None:
    write_text_atomic(path, dumps(result))


def read(path: Path) -> ScanResult:
    return loads(read_text(path, _MAX_RESULT_BYTES, "scan result"), str(path))
