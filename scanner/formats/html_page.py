"""What one HTML page can hold of a very large scan, and the note that says so.

A scan of a /16 can hold hundreds of thousands of findings; a page of all of
them would be hundreds of megabytes no browser opens. Above the budget, the
page's rows (findings, hosts, firewall, data stores, plan steps, trust
tables, errors) show the riskiest part: the findings ranked highest and the
hosts they are on (then the riskiest other hosts). The summary, the counts and
the charts still cover the whole scan, every section that was cut says how
much, and the note says how to render any other part from the JSON result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scanner.formats._text import risk_order
from scanner.model import Assessment, CustomerTrust, ScanResult

# The budget. Below it nothing is cut: every page shows everything.
MAX_FINDINGS = 5_000
MAX_HOSTS = 1_000
MAX_ERRORS = 500


@dataclass(frozen=True)
class PageCut:
    """How much of the scan the page shows, per kind of row."""

    findings: tuple[int, int]  # (shown, in the scan)
    hosts: tuple[int, int]
    errors: tuple[int, int]

    def cut(self, kind: str) -> bool:
        shown, total = getattr(self, kind)
        return bool(shown < total)


def on_the_page(result: ScanResult) -> tuple[ScanResult, PageCut | None]:
    """The part of `result` the page's rows show, and what was cut (None: nothing)."""
    if (
        len(result.findings) <= MAX_FINDINGS
        and len(result.hosts) <= MAX_HOSTS
        and len(result.probe_errors) <= MAX_ERRORS
    ):
        return result, None
    ranked = risk_order(result)
    chosen: dict[str, None] = {}
    for finding in ranked:
        if len(chosen) >= MAX_HOSTS:
            break
        chosen.setdefault(finding.host, None)
    assessed = result.assessment
    by_risk = [h.host for h in assessed.hosts] if assessed is not None else []
    for address in [*by_risk, *(h.address for h in result.hosts)]:
        if len(chosen) >= MAX_HOSTS:
            break
        chosen.setdefault(address, None)
    findings = [f for f in ranked if f.host in chosen][:MAX_FINDINGS]
    shown_prints = {f.fingerprint for f in findings}
    visible = replace(
        result,
        hosts=tuple(h for h in result.hosts if h.address in chosen),
        observations=tuple(o for o in result.observations if o.host in chosen),
        findings=tuple(findings),
        probe_errors=result.probe_errors[:MAX_ERRORS],
        assessment=_assessment_of(assessed, chosen, shown_prints) if assessed else None,
    )
    cut = PageCut(
        findings=(len(findings), len(result.findings)),
        hosts=(len(visible.hosts), len(result.hosts)),
        errors=(len(visible.probe_errors), len(result.probe_errors)),
    )
    return visible, cut


def _assessment_of(assessment: Assessment, hosts: dict[str, None], prints: set[str]) -> Assessment:
    """The rows of the assessment about what the page shows; its totals stay whole."""
    trust: CustomerTrust = assessment.trust
    return replace(
        assessment,
        findings=tuple(r for r in assessment.findings if r.fingerprint in prints),
        hosts=tuple(h for h in assessment.hosts if h.host in hosts),
        plan=tuple(s for s in assessment.plan if s.host in hosts),
        trust=replace(trust, hosts=tuple(h for h in trust.hosts if h.host in hosts)),
    )
