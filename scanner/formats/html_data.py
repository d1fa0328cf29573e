"""The report's findings as data embedded in the page, for its script to show
only what is on screen (reports/report.js builds each row from it).

The data is one JSON document in a `<script type="application/json">`
element: a data block, which the browser never runs, so the page's strict CSP
needs no change. Every finding is a fixed-order array (`FIELDS`, read by the
script by position), every distinct rule text and vulnerability list is
sent once and referred to by number, and strings lose their control
characters as everywhere else in the page.

Above `COMPRESS_ABOVE` findings the JSON is gzip-compressed and base64
encoded (about 6x smaller than the JSON; the page decompresses it with the
browser's own `DecompressionStream`). Either way it is written as a stream:
the document is never one string in memory.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final

from markupsafe import Markup

from scanner.assessment.risk import RISK_LEVELS
from scanner.formats.charts import clean
from scanner.formats.html_findings import FindingList, FindingView, TextBlock, VulnBlock
from scanner.formats.html_history import Seen
from scanner.formats.html_text import Link

# A finding's array, by position. The script has the same list (report.js, F).
FIELDS: Final = (
    "fingerprint",
    "severity rank",
    "risk (null: not scored)",
    "rule text (index into texts)",
    "host",
    "where (host:port/protocol)",
    "service",
    "category",
    "confidence",
    "state against the baseline ('' when not compared)",
    "acceptance (0 none, 1 accepted, 2 expired)",
    "acceptance in words",
    "first seen, short ('' without a history)",
    "first seen, long",
    "evidence (one line an item)",
    "notes",
    "vulnerability list (index into vulns, -1: none)",
    "fixed by the distribution (one line a CVE)",
    "risk factors",
    "plan step (0: none)",
    "host order",
    "rule order",
    "title order",
)

# Up to this many findings the data is plain JSON (readable in the file, no
# decoding step); above it, compressed.
COMPRESS_ABOVE: Final = 200

_CHUNK: Final = 500  # findings per piece written


def _nothing(done: int) -> None:
    return None


_s = clean  # every string a target sent, as the page prints it


def _links(links: Iterable[Link]) -> list[list[str | None]]:
    return [[_s(link.text), link.href] for link in links]


def _text(block: TextBlock) -> list[object]:
    return [
        block.anchor,
        _s(block.rule_id),
        _s(block.title),
        _s(block.description),
        _s(block.impact),
        [_s(d) for d in block.data_at_stake],
        _s(block.remediation),
        _links(block.references),
    ]


def _vulns(block: VulnBlock) -> list[object]:
    rows = []
    for v, links in block.rows:
        exploited = [v.exploited.added, v.exploited.due] if v.exploited else None
        rows.append(
            [
                _s(v.id),
                v.severity.value,
                _s(v.vendor_severity or ""),
                v.cvss_score,
                _s(v.cvss_vector or ""),
                [_s(x) for x in v.fixed_in],
                exploited,
                _links(links),
            ]
        )
    return [block.anchor, block.worst_cvss, rows]


def _finding(view: FindingView, text: int, vulns: int, seen: Seen | None) -> list[object]:
    f = view.finding
    accepted = 0 if f.accepted is None else 2 if f.accepted.expired else 1
    return [
        f.fingerprint,
        f.severity.rank,
        view.risk,
        text,
        _s(f.host),
        _s(view.where),
        _s(f.service or ""),
        _s(f.category),
        f.confidence.value,
        f.baseline.value if f.baseline is not None else "",
        accepted,
        _s(view.accepted),
        seen.text if seen else "",
        seen.long_text if seen else "",
        _s(view.evidence),
        [_s(n) for n in f.notes],
        vulns,
        _s(view.fixed),
        " \u00b7 ".join(_s(x) for x in view.factors),
        view.plan_rank or 0,
        view.host_order,
        view.rule_order,
        view.title_order,
    ]


def _json(value: object) -> str:
    # Inside <script> nothing is unescaped and "</script" would end it: the
    # characters that could start markup are written as JSON escapes.
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def json_pieces(
    findings: FindingList, seen: Mapping[str, Seen], written: Callable[[int], None] = _nothing
) -> Iterator[str]:
    """The document, piece by piece: {"fields", "levels", "texts", "vulns",
    "findings": [...]} with the findings in the report's default order.
    `written` is told how many findings are done after each piece."""
    texts = findings.texts
    vuln_lists = findings.vuln_lists
    text_index = {t.anchor: i for i, t in enumerate(texts)}
    vuln_index = {v.anchor: i for i, v in enumerate(vuln_lists)}
    head = {
        "version": 1,
        "count": len(findings),
        "assessed": findings.assessed,
        "fields": list(FIELDS),
        "levels": [[floor, level.name] for floor, level in RISK_LEVELS],
        "texts": [_text(t) for t in texts],
        "vulns": [_vulns(v) for v in vuln_lists],
    }
    opening = _json(head)
    yield opening[:-1] + ',"findings":['
    batch: list[str] = []
    first = True
    done = 0
    for view in findings.views():
        record = _finding(
            view,
            text_index[view.text.anchor],
            vuln_index[view.vulns.anchor] if view.vulns is not None else -1,
            seen.get(view.finding.fingerprint),
        )
        batch.append(_json(record))
        if len(batch) >= _CHUNK:
            yield ("" if first else ",") + ",".join(batch)
            done += len(batch)
            written(done)
            first, batch = False, []
    if batch:
        yield ("" if first else ",") + ",".join(batch)
        written(done + len(batch))
    yield "]}"


def gzip_base64(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces' UTF-8 bytes gzip-compressed and base64-encoded, as a stream
    of base64 lines (a line break every 76 x 1,000 characters, which `atob`
    skips)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip header
    pending = b""
    for piece in pieces:
        pending += compressor.compress(piece.encode("utf-8"))
        whole = len(pending) - len(pending) % 57_000
        if whole:
            yield base64.b64encode(pending[:whole]).decode("ascii") + "\n"
            pending = pending[whole:]
    pending += compressor.flush()
    yield base64.b64encode(pending).decode("ascii") + "\n"


def embedded(
    findings: FindingList, seen: Mapping[str, Seen], written: Callable[[int], None] = _nothing
) -> tuple[str, Iterator[Markup]]:
    """The data block's encoding ("json" or "gzip") and its text, piece by piece."""
    pieces = json_pieces(findings, seen, written)
    if len(findings) > COMPRESS_ABOVE:
        # base64 and escaped JSON hold no markup.
        return "gzip", (Markup(p) for p in gzip_base64(pieces))  # noqa: S704
    return "json", (Markup(p) for p in pieces)  # noqa: S704
