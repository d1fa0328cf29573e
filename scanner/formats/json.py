"""The ScanResult itself, as JSON."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.model import ScanResult
from scanner.result_io import chunks, dumps


class JsonFormatter:
    def format(self, result: ScanResult) -> str:
        return dumps(result)

    def chunks(self, result: ScanResult) -> Iterator[str]:
        """The same text, piece by piece: a large result is never one string."""
        return chunks(result)
