"""Where the built-in rules, report templates and schemas are.

A wheel carries them under `scanner/_data/`; a source checkout (or an
editable install) has them at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

# This module lives in scanner/support/: the package is one level up.
_PACKAGE = Path(__file__).resolve().parent.parent


def _data_dir(name: str) -> Path:
    bundled = _PACKAGE / "_data" / name
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / name


def builtin_rules_dir() -> Path:
    return _data_dir("rules")


def reports_dir() -> Path:
    return _data_dir("reports")


def rule_schema_path() -> Path:
    return builtin_rules_dir() / "rule.schema.json"


def result_schema_path() -> Path:
    """The JSON Schema of the `ScanResult` JSON (see `scanner.result_schema`)."""
    return reports_dir() / "scan-result.schema.json"


def inventory_schema_path() -> Path:
    """The JSON Schema of an `--inventory` file (see `scanner.assessment.inventory`)."""
    return reports_dir() / "inventory.schema.json"
