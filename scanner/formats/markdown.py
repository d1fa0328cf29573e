"""A Markdown summary for a pull-request comment: counts and the top findings.

Target text is escaped so that it renders as the text it is: `<` and `>` and
`&` become entities (no raw HTML), Markdown punctuation is backslash-escaped
(no links, emphasis, code spans or broken table cells), and line breaks and
control characters are folded away.
"""

from __future__ import annotations

import re

from scanner.formats._text import endpoint, ordered
from scanner.model import ScanResult, Severity

TOP = 20

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PUNCTUATION = set("\\`*_[]|#~!{}")


def md_text(text: str) -> str:
    """One line of inert Markdown, safe inside a table cell."""
    folded = _CONTROLS.sub(" ", text).strip()
    out: list[str] = []
    for char in folded:
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


class MarkdownFormatter:
    def format(self, result: ScanResult) -> str:
        findings = ordered(result.findings)
        counts = result.severity_counts()
        severities = list(reversed(Severity))
        lines = [
            f"## trustscan: {_plural(len(findings), 'finding')} "
            f"on {_plural(len(result.hosts), 'host')}",
            "",
            f"Scan {md_text(result.started)} to {md_text(result.finished)}, "
            f"{_plural(len(result.probe_errors), 'probe error')}.",
            "",
            "| " + " | ".join(s.value for s in severities) + " |",
            "|" + "---:|" * len(severities),
            "| " + " | ".join(str(counts[s]) for s in severities) + " |",
        ]
        if findings:
            lines += [
                "",
                "| Severity | Host | Finding | Rule |",
                "|---|---|---|---|",
            ]
            for finding in findings[:TOP]:
                cells = (
                    finding.severity.value,
                    md_text(endpoint(finding.host, finding.port)),
                    md_text(finding.title),
                    md_text(finding.rule_id),
                )
                lines.append("| " + " | ".join(cells) + " |")
        more = len(findings) - TOP
        if more > 0:
            lines += ["", f"… and {_plural(more, 'more finding')} in the full report."]
        return "\n".join(lines) + "\n"
