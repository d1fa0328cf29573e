"""What one HTML page lays out of a very large scan, and the note that says so.

Every finding is on the page, as data its script shows a screenful at a time
(`html_data`); the printed list (without script, and on paper) holds the
riskiest `PRINT_LIMIT`. The other sections' rows are laid out as HTML, so a
scan of a /16 would make them hundreds of thousands of elements: above the
budget, hosts, firewall, data stores, plan steps and trust tables show the
riskiest hosts (those of the riskiest findings first), errors the first
`MAX_ERRORS`. The summary, the counts, the charts and the findings still cover
the whole scan, every section that was cut says how much, and the note says
how to render any other part from the JSON result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from scanner.formats._text import risk_order
from scanner.formats.html_findings import PRINT_LIMIT
from scanner.model import Assessment, CustomerTrust, Finding, ScanResult

# The budget. Below it nothing is cut: every section shows everything.
MAX_HOSTS = 1_000
MAX_PLAN = 1_000
MAX_ERRORS = 500


@dataclass(frozen=True)
class PageCut:
    """How much of the scan the page lays out, per kind of row: (shown, in the scan)."""

    findings: tuple[int, int]  # the printed list
    hosts: tuple[int, int]
    plan: tuple[int, int]
    errors: tuple[int, int]

    def cut(self, kind: str) -> bool:
        shown, total = getattr(self, kind)
        return bool(shown < total)


def on_the_page(
    result: ScanResult, ranked: Sequence[Finding] | None = None
) -> tuple[ScanResult, PageCut | None]:
    """The part of `result` the page's sections lay out (every finding stays),
    and what was cut (None: nothing). `ranked`: the findings in risk order,
    when the caller has them (`risk_order`)."""
    plan = result.assessment.plan if result.assessment else ()
    if (
        len(result.findings) <= PRINT_LIMIT
        and len(result.hosts) <= MAX_HOSTS
        and len(plan) <= MAX_PLAN
        and len(result.probe_errors) <= MAX_ERRORS
    ):
        return result, None
    chosen: dict[str, None] = {}
    if len(result.hosts) > MAX_HOSTS:
        for finding in risk_order(result) if ranked is None else ranked:
            if len(chosen) >= MAX_HOSTS:
                break
            chosen.setdefault(finding.host, None)
        assessed = result.assessment
        by_risk = [h.host for h in assessed.hosts] if assessed is not None else []
        for address in [*by_risk, *(h.address for h in result.hosts)]:
            if len(chosen) >= MAX_HOSTS:
                break
            chosen.setdefault(address, None)
    else:
        chosen = dict.fromkeys(h.address for h in result.hosts)
    if len(chosen) == len(result.hosts):
        visible = replace(result, probe_errors=result.probe_errors[:MAX_ERRORS])
    else:
        visible = replace(
            result,
            hosts=tuple(h for h in result.hosts if h.address in chosen),
            observations=tuple(o for o in result.observations if o.host in chosen),
            probe_errors=result.probe_errors[:MAX_ERRORS],
        )
    if result.assessment is not None:
        visible = replace(visible, assessment=_assessment_of(result.assessment, chosen))
    shown_plan = visible.assessment.plan if visible.assessment else ()
    cut = PageCut(
        findings=(min(len(result.findings), PRINT_LIMIT), len(result.findings)),
        hosts=(len(visible.hosts), len(result.hosts)),
        plan=(len(shown_plan), len(plan)),
        errors=(len(visible.probe_errors), len(result.probe_errors)),
    )
    return visible, cut


def _assessment_of(assessment: Assessment, hosts: dict[str, None]) -> Assessment:
    """The rows of the assessment about what the page lays out; its totals
    and its findings' scores stay whole."""
    trust: CustomerTrust = assessment.trust
    return replace(
        assessment,
        hosts=tuple(h for h in assessment.hosts if h.host in hosts),
        plan=tuple(s for s in assessment.plan if s.host in hosts)[:MAX_PLAN],
        trust=replace(trust, hosts=tuple(h for h in trust.hosts if h.host in hosts)),
    )
