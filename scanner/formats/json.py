"""The ScanResult itself, as JSON."""

from __future__ import annotations

from collections.abc import Iterator

from scanner.model import ScanResult
from scanner.result_io import chunks, dumps
from scanner.support.progress import QUIET, Progress


class JsonFormatter:
    def __init__(self, progress: Progress = QUIET, what: str = "writing the result") -> None:
        self._progress = progress
        self._what = what

    def format(self, result: ScanResult) -> str:
        return dumps(result)

    def chunks(self, result: ScanResult) -> Iterator[str]:
        """The same text, piece by piece: a large result is never one string;
        how many of its records are written is said as it goes."""
        return chunks(result, self._progress, self._what)
