"""The ScanResult itself, as JSON."""

from __future__ import annotations

from scanner.model import ScanResult
from scanner.result_io import dumps


class JsonFormatter:
    def format(self, result: ScanResult) -> str:
        return dumps(result)
