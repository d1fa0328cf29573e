"""A Markdown summary for a pull-request comment: counts, what is at stake for
customers, the first steps of the remediation plan and the top findings.

Target text is escaped so that it renders as the text it is: `<` and `>` and
`&` become entities (no raw HTML), Markdown punctuation is backslash-escaped
(no links, emphasis, code spans or broken table cells), and line breaks and
control characters are folded away.
"""

from __future__ import annotations

import re

from scanner.assessment.notices import words
from scanner.formats._text import NO_CVSS, endpoint, max_cvss, ordered
from scanner.model import Assessment, Finding, ScanResult, Severity

TOP = 20
TOP_STEPS = 3

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


def _trust_lines(assessment: Assessment) -> list[str]:
    """Who is at stake and what would follow, in a few lines a reviewer reads."""
    trust = assessment.trust
    if not trust.categories:
        return []
    people = (
        f"{trust.customers_at_risk:,} customers"
        if trust.customers_at_risk is not None
        else f"{trust.records_at_risk:,} records"
    )
    lines = [
        "",
        f"**Customer trust:** the data of {people} is exposed "
        f"({md_text(words([c.category for c in trust.categories]))}).",
    ]
    for duty in trust.duties:
        lines.append(f"- {md_text(duty.basis)}: {md_text(duty.title)}, {md_text(duty.deadline)}")
    if trust.cost is not None:
        cost = trust.cost
        lines.append(
            f"- Estimated breach cost: {md_text(cost.currency)} {cost.total:,.0f} "
            f"({cost.records:,} at {cost.per_record:,.2f} each; {md_text(cost.source)})"
        )
    return lines


def _plan_lines(assessment: Assessment) -> list[str]:
    if not assessment.plan:
        return []
    lines = ["", "**Fix first:**", ""]
    for step in assessment.plan[:TOP_STEPS]:
        where = f"{step.system} ({step.host})" if step.system else step.host
        lines.append(
            f"{step.rank}. **{md_text(where)}**: {md_text(step.remediation)} "
            f"(risk {step.score:g}, {step.severity.value})"
        )
    return lines


def _cvss_cell(finding: Finding) -> str:
    """The worst real CVSS of a finding's known vulnerabilities, or that there is none."""
    if not finding.vulnerabilities:
        return "\u2013"
    cvss = max_cvss(finding)
    exploited = sum(v.exploited is not None for v in finding.vulnerabilities)
    kev = f"; {exploited} exploited in the wild (CISA KEV)" if exploited else ""
    return (f"{cvss:g}" if cvss is not None else NO_CVSS) + kev


def _sources_line(result: ScanResult) -> str:
    """What data the findings were judged with, and how old it is: one line."""
    named = "; ".join(
        f"{md_text(s.name)} as of {md_text(s.as_of or 'an unrecorded date')}"
        for s in result.data_sources
    )
    return f"**Data:** {named} (coverage and updates in the full report)."


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
            *(
                ["", f"**A part of a scan:** {md_text(result.selection)}."]
                if result.selection
                else []
            ),
            *(["", f"Ports scanned: {md_text(result.port_choice)}."] if result.port_choice else []),
            *(["", _sources_line(result)] if result.data_sources else []),
            "",
            "| " + " | ".join(s.value for s in severities) + " |",
            "|" + "---:|" * len(severities),
            "| " + " | ".join(str(counts[s]) for s in severities) + " |",
        ]
        if result.assessment is not None:
            lines += _trust_lines(result.assessment) + _plan_lines(result.assessment)
        if findings:
            shown = findings[:TOP]
            # A CVSS column only when a finding listed names known
            # vulnerabilities: a misconfiguration has no CVSS to miss.
            with_cvss = any(f.vulnerabilities for f in shown)
            lines += [
                "",
                "| Severity | Host | Finding | Rule |" + (" CVSS |" if with_cvss else ""),
                "|---|---|---|---|" + ("---|" if with_cvss else ""),
            ]
            for finding in shown:
                cells = [
                    finding.severity.value,
                    md_text(endpoint(finding.host, finding.port)),
                    md_text(finding.title),
                    md_text(finding.rule_id),
                ]
                if with_cvss:
                    cells.append(_cvss_cell(finding))
                lines.append("| " + " | ".join(cells) + " |")
        more = len(findings) - TOP
        if more > 0:
            lines += ["", f"… and {_plural(more, 'more finding')} in the full report."]
        return "\n".join(lines) + "\n"
