"""The findings table `scan`, `local` and `report` print on standard output
when no output option is given, as nmap and Trivy print theirs.

Riskiest first (the assessment's finding risk, as the HTML report orders its
findings; the most severe first when a result was never assessed). Columns:
severity, where (host:port/protocol, or the host), title, confidence, and,
only when they apply, the state against the baseline (a result compared with
`--baseline`) and the accepted-risk mark (`accepted`, or `expired` for an
acceptance past its date). The table fits `width` columns: a long title is
cut with an ellipsis, the endpoint at ENDPOINT_CHARS. Everything a target
could have put in a cell is made terminal-safe (`outputs.terminal`).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from scanner.formats._text import risk_order
from scanner.model import Finding, ScanResult
from scanner.outputs.terminal import one_line

MIN_WIDTH = 80  # narrower terminals wrap; the table stays readable at 80
MAX_WIDTH = 200  # wider than this a row is hard to follow
DEFAULT_WIDTH = 120  # when standard output is not a terminal
ENDPOINT_CHARS = 45  # "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535/tcp" is 51
MIN_TITLE = 20
_GAP = "  "


def table_width() -> int:
    """The terminal's width (COLUMNS, else the terminal, else DEFAULT_WIDTH), bounded."""
    columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, columns))


def _where(finding: Finding) -> str:
    host = f"[{finding.host}]" if ":" in finding.host else finding.host
    if finding.port is None:
        return finding.host
    return f"{host}:{finding.port}/{finding.protocol or 'tcp'}"


def _accepted_mark(finding: Finding) -> str:
    if finding.accepted is None:
        return ""
    return "expired" if finding.accepted.expired else "accepted"


def _row(finding: Finding, baseline: bool, acceptance: bool) -> list[str]:
    row = [
        finding.severity.value,
        one_line(_where(finding), ENDPOINT_CHARS),
        one_line(finding.title),
        finding.confidence.value,
    ]
    if baseline:
        row.append(finding.baseline.value if finding.baseline is not None else "-")
    if acceptance:
        row.append(_accepted_mark(finding))
    return row


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return _GAP.join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def findings_table(result: ScanResult, width: int | None = None) -> str:
    """The table, one line a finding and a header; "No findings." when there are none."""
    if not result.findings:
        return "No findings.\n"
    width = table_width() if width is None else width
    baseline = result.baseline is not None
    acceptance = result.acceptance is not None or any(f.accepted for f in result.findings)
    header = ["SEVERITY", "ENDPOINT", "TITLE", "CONFIDENCE"]
    header += ["BASELINE"] if baseline else []
    header += ["ACCEPTED"] if acceptance else []
    rows = [_row(f, baseline, acceptance) for f in risk_order(result)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    # The title takes what the other columns leave of the width.
    others = sum(w for i, w in enumerate(widths) if i != 2) + len(_GAP) * (len(header) - 1)
    widths[2] = max(MIN_TITLE, min(widths[2], width - others))
    lines = [_line(header, widths)]
    for row in rows:
        row[2] = one_line(row[2], widths[2])
        lines.append(_line(row, widths))
    return "\n".join(lines) + "\n"
