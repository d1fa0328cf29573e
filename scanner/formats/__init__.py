"""Output formats: one formatter a module, each turning a ScanResult into text.

Formatters do no I/O; the caller writes what they return (atomically).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from enum import Enum
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from scanner.model import Finding, ScanResult
from scanner.support.progress import QUIET, Progress


class OutputFormat(str, Enum):
    HTML = "html"
    JSON = "json"
    SARIF = "sarif"
    JUNIT = "junit"
    MARKDOWN = "markdown"


# The file each format is written to when it is asked for with `--format` alone
# (in `--output-dir`); an explicit path option (`--sarif x.sarif`) wins.
DEFAULT_FILE_NAMES: Mapping[OutputFormat, str] = MappingProxyType(
    {
        OutputFormat.HTML: "trustscan-report.html",
        OutputFormat.JSON: "trustscan-result.json",
        OutputFormat.SARIF: "trustscan.sarif",
        OutputFormat.JUNIT: "trustscan-junit.xml",
        OutputFormat.MARKDOWN: "trustscan-summary.md",
    }
)


class Formatter(Protocol):
    def format(self, result: ScanResult) -> str: ...


@runtime_checkable
class StreamingFormatter(Formatter, Protocol):
    """A formatter that can also hand its text over in pieces, so that a large
    result is written without ever being one string in memory."""

    def chunks(self, result: ScanResult) -> Iterator[str]: ...


def rendered(formatter: Formatter, result: ScanResult) -> Iterable[str]:
    """The formatter's text, in pieces where it can stream."""
    if isinstance(formatter, StreamingFormatter):
        return formatter.chunks(result)
    return (formatter.format(result),)


def formatter_for(
    fmt: OutputFormat,
    fails: Callable[[Finding], bool] | None = None,
    sarif_category: str = "",
    progress: Progress = QUIET,
    what: str = "writing the report",
) -> Formatter:
    """`fails` says whether a finding trips the exit gate (`outputs.gate`);
    only JUnit uses it (None: no finding fails a test case). `sarif_category`
    names the scan's scope in SARIF's `automationDetails` (empty: a digest of
    the targets). The HTML report and the JSON result say how far they are
    written (`progress`, as `what`): findings, records."""
    # Imported here so that a JSON-only run never loads Jinja2.
    if fmt is OutputFormat.HTML:
        from scanner.formats.html import HtmlFormatter

        return HtmlFormatter(progress, what)
    if fmt is OutputFormat.JSON:
        from scanner.formats.json import JsonFormatter

        return JsonFormatter(progress, what)
    if fmt is OutputFormat.SARIF:
        from scanner.formats.sarif import SarifFormatter

        return SarifFormatter(sarif_category)
    if fmt is OutputFormat.JUNIT:
        from scanner.formats.junit import JunitFormatter

        return JunitFormatter(fails)
    if fmt is OutputFormat.MARKDOWN:
        from scanner.formats.markdown import MarkdownFormatter

        return MarkdownFormatter()
    raise AssertionError(f"unhandled format {fmt}")  # pragma: no cover
