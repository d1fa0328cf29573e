"""Output formats: one formatter a module, each turning a ScanResult into text.

Formatters do no I/O; the caller writes what they return (atomically).
"""

from __future__ import annotations

from enum import Enum
from typing import Protocol

from scanner.model import ScanResult


class OutputFormat(str, Enum):
    HTML = "html"
    JSON = "json"


class Formatter(Protocol):
    def format(self, result: ScanResult) -> str: ...


def formatter_for(fmt: OutputFormat) -> Formatter:
    # Imported here so that a JSON-only run never loads Jinja2.
    if fmt is OutputFormat.HTML:
        from scanner.formats.html import HtmlFormatter

        return HtmlFormatter()
    if fmt is OutputFormat.JSON:
        from scanner.formats.json import JsonFormatter

        return JsonFormatter()
    raise AssertionError(f"unhandled format {fmt}")  # pragma: no cover
