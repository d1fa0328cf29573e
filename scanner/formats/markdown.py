"""A Markdown summary for a pull-request comment: counts, what moved since the
baseline (new findings first), accepted risks, the overall risk and why,
what is at stake for customers, the first steps of the remediation plan, the
top findings and the coverage (what was checked and found clean, what could
not be, what is never tested). Paths of the scanning machine are shown
relative (`assessment.shown_paths`).

Target text is escaped so that it renders as the text it is: `<` and `>` and
`&` become entities (no raw HTML), Markdown punctuation is backslash-escaped
(no links, emphasis, code spans or broken table cells), and line breaks and
control characters are folded away.
"""

from __future__ import annotations

import re

from scanner.assessment.baseline import baseline_date, what_moved
from scanner.assessment.coverage import checks_line, result_coverage, untested_names
from scanner.assessment.notices import words
from scanner.assessment.risk import explain_score, risk_level
from scanner.assessment.shown_paths import for_report
from scanner.assessment.trust import cost_about, cost_basis_text
from scanner.formats._text import NO_CVSS, endpoint, max_cvss, ordered
from scanner.model import Assessment, BaselineState, Finding, ScanResult, Severity

TOP = 20
TOP_STEPS = 3
# Changed, fixed and not-rescanned findings listed at most, each; the new ones
# get a table of TOP rows.
TOP_MOVED = 10

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
            f"- Estimated breach cost: {md_text(cost_about(cost))} "
            f"({md_text(cost_basis_text(cost))})"
        )
    return lines


def _overall_lines(result: ScanResult) -> list[str]:
    """The overall risk and why, in this scan's numbers."""
    assessment = result.assessment
    if assessment is None or not assessment.hosts:
        return []
    worst = max(assessment.hosts, key=lambda h: h.score)
    if worst.score <= 0:
        return []
    level = risk_level(worst.score)
    return [
        "",
        f"**Overall risk: {worst.score:.1f} ({level.name}).** "
        f"{md_text(explain_score(result, worst))} {md_text(level.advice)}".rstrip(),
    ]


_LISTED = 5  # targets, timeouts and gaps named in the coverage lines


def _named(items: tuple[str, ...]) -> str:
    shown = "; ".join(md_text(i) for i in items[:_LISTED])
    more = f"; and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return shown + more


def _coverage_lines(result: ScanResult) -> list[str]:
    """What the scan covered and did not, a line a fact."""
    coverage = result_coverage(result)
    lines = ["", "**Coverage:**", ""]
    if not result.port_choice:
        lines.append(f"- Scanned: {md_text(coverage.ports)}.")
    lines.append(f"- Not scanned: {md_text(coverage.not_scanned)}.")
    if coverage.unanswered:
        lines.append(
            f"- Did not answer ({len(coverage.unanswered)}): {_named(coverage.unanswered)}."
        )
    if coverage.silent:
        lines.append(f"- Up but silent ({len(coverage.silent)}): {_named(coverage.silent)}.")
    if coverage.timed_out:
        lines.append(
            f"- Ran out of time ({len(coverage.timed_out)}): {_named(coverage.timed_out)}."
        )
    for gap in coverage.gaps:
        lines.append(f"- Not run: {gap.count} {md_text(gap.kind)}: {_named(gap.examples)}.")
    checks = checks_line(coverage)
    if checks:
        lines.append(f"- Checked (clean: no finding of low severity or worse): {md_text(checks)}.")
    fixed = coverage.fixed_by_distribution
    if fixed:
        cves = sum(len(g.cves) for g in fixed)
        lines.append(
            f"- Fixed by the distribution (backports, no finding): {cves} CVE(s) on "
            f"{len(fixed)} service(s)."
        )
    untested = ", ".join(md_text(name) for name in untested_names(coverage.not_tested))
    lines.append(f"- Never tested by trustscan: {untested} (the full report says why).")
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


def _where(finding: Finding) -> str:
    return md_text(endpoint(finding.host, finding.port))


def _bullets(findings: list[Finding], detail: bool = False) -> list[str]:
    lines = []
    for finding in findings[:TOP_MOVED]:
        moved = what_moved(finding) if detail else ""
        lines.append(
            f"- {finding.severity.value} {_where(finding)} {md_text(finding.title)} "
            f"({md_text(finding.rule_id)})" + (f": {md_text(moved)}" if moved else "")
        )
    if len(findings) > TOP_MOVED:
        lines.append(f"- … and {len(findings) - TOP_MOVED} more in the full report")
    return lines


def _baseline_lines(result: ScanResult, findings: list[Finding]) -> list[str]:
    """What moved since the baseline: the counts in one line, then the new
    findings (a table), the changed (and what moved), the fixed, and those
    whose host was not scanned again (which are never counted as fixed)."""
    comparison = result.baseline
    if comparison is None:
        return []
    unknown = len(comparison.not_rescanned)
    details = [f"baseline {md_text(comparison.source)}", f"{comparison.unchanged} unchanged"]
    if unknown:
        details.append(f"{_plural(unknown, 'finding')} not rescanned: not counted as fixed")
    lines = [
        "",
        f"**{comparison.new} new, {comparison.changed} changed, {len(comparison.fixed)} fixed "
        f"since {md_text(baseline_date(comparison.taken))}** ({'; '.join(details)}).",
    ]
    new = [f for f in findings if f.baseline is BaselineState.NEW]
    if new:
        lines += ["", "New since the baseline:", "", "| Severity | Host | Finding | Rule |"]
        lines.append("|---|---|---|---|")
        for finding in new[:TOP]:
            cells = [finding.severity.value, _where(finding), md_text(finding.title)]
            lines.append("| " + " | ".join([*cells, md_text(finding.rule_id)]) + " |")
        if len(new) > TOP:
            more = _plural(len(new) - TOP, "more new finding")
            lines += ["", f"… and {more} in the full report."]
    changed = [f for f in findings if f.baseline is BaselineState.CHANGED]
    for title, shown, detail in (
        ("Changed", changed, True),
        ("Fixed", list(comparison.fixed), False),
        ("Not rescanned (not scanned again this time)", list(comparison.not_rescanned), False),
    ):
        if shown:
            lines += ["", f"{title}:", "", *_bullets(shown, detail)]
    return lines


def _acceptance_line(result: ScanResult) -> list[str]:
    """One line: N accepted (M expired, K stale entries), from the accepted-risks check."""
    check = result.acceptance
    if check is None:
        return []
    stale = len(check.stale)
    entries = f"{stale} stale entr" + ("y" if stale == 1 else "ies")
    return [
        "",
        f"**Accepted risks:** {check.accepted} accepted ({len(check.expired)} expired, "
        f"{entries}) in {md_text(check.source)}.",
    ]


def _title_cell(finding: Finding) -> str:
    """The title, and whether the risk is accepted: a reviewer must not read
    an accepted finding as forgotten, nor an expired acceptance as current."""
    accepted = finding.accepted
    if accepted is None:
        return md_text(finding.title)
    mark = (
        f"acceptance expired on {accepted.expires}"
        if accepted.expired
        else f"accepted by {accepted.owner} until {accepted.expires}"
    )
    return f"{md_text(finding.title)} ({md_text(mark)})"


class MarkdownFormatter:
    def format(self, result: ScanResult) -> str:
        result = for_report(result)
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
        lines += _baseline_lines(result, findings) + _acceptance_line(result)
        if result.assessment is not None:
            lines += _overall_lines(result)
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
                    _title_cell(finding),
                    md_text(finding.rule_id),
                ]
                if with_cvss:
                    cells.append(_cvss_cell(finding))
                lines.append("| " + " | ".join(cells) + " |")
        more = len(findings) - TOP
        if more > 0:
            lines += ["", f"… and {_plural(more, 'more finding')} in the full report."]
        lines += _coverage_lines(result)
        return "\n".join(lines) + "\n"
