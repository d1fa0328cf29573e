"""The HTML report's views of what the team knew before this scan: the
baseline it was compared with ("Since the baseline": new, changed, fixed, not
rescanned) and the risks it accepted (each finding's acceptance, and the
accepted-risks file's expired and stale entries)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scanner.assessment.baseline import baseline_date, listed, what_moved
from scanner.formats._text import endpoint
from scanner.formats.html_findings import FindingRef
from scanner.model import (
    AcceptanceCheck,
    BaselineComparison,
    BaselineState,
    Finding,
    ScanResult,
    Severity,
)

# Items listed per kind (new, changed, fixed, not rescanned); the rest counted.
MAX_LISTED = 50
# Expired and stale accepted-risk entries listed at most, each.
MAX_ENTRIES = 20


@dataclass(frozen=True)
class Item:
    """One finding in a list of the baseline section: linked when this page
    shows it (new, changed), plain when it is only in the baseline (fixed,
    not rescanned)."""

    severity: Severity
    title: str
    where: str
    rule_id: str
    anchor: str = ""
    detail: str = ""  # what moved, for a changed finding


@dataclass(frozen=True)
class Listing:
    items: tuple[Item, ...]
    more: int  # in the comparison, not listed here


@dataclass(frozen=True)
class BaselineView:
    comparison: BaselineComparison
    date: str
    new: Listing
    changed: Listing
    fixed: Listing
    not_rescanned: Listing


def _where(finding: Finding) -> str:
    return endpoint(finding.host, finding.port) + (
        f"/{finding.protocol}" if finding.port is not None else ""
    )


def _item(finding: Finding, refs: Mapping[str, FindingRef], detail: str = "") -> Item:
    ref = refs.get(finding.fingerprint)
    return Item(
        severity=finding.severity,
        title=finding.title,
        where=_where(finding),
        rule_id=finding.rule_id,
        anchor=ref.anchor if ref is not None else "",
        detail=detail,
    )


def _listing(items: Iterable[Item], total: int) -> Listing:
    shown = tuple(items)[:MAX_LISTED]
    return Listing(shown, max(0, total - len(shown)))


def baseline_view(result: ScanResult, refs: Mapping[str, FindingRef]) -> BaselineView | None:
    """The "Since the baseline" section; None when the result was not compared.

    `result` holds the findings this page shows (a very large scan's page
    shows a part): the new and changed ones listed link to them, the counts
    come from the whole comparison."""
    comparison = result.baseline
    if comparison is None:
        return None
    new = listed(result.findings, BaselineState.NEW)
    changed = listed(result.findings, BaselineState.CHANGED)
    return BaselineView(
        comparison=comparison,
        date=baseline_date(comparison.taken),
        new=_listing((_item(f, refs) for f in new), comparison.new),
        changed=_listing((_item(f, refs, what_moved(f)) for f in changed), comparison.changed),
        fixed=_listing((_item(f, {}) for f in comparison.fixed), len(comparison.fixed)),
        not_rescanned=_listing(
            (_item(f, {}) for f in comparison.not_rescanned), len(comparison.not_rescanned)
        ),
    )


@dataclass(frozen=True)
class AcceptanceView:
    check: AcceptanceCheck
    expired: tuple[str, ...]
    expired_more: int
    stale: tuple[str, ...]
    stale_more: int
    # Findings marked accepted but past their date: the gate counts them again.
    expired_findings: int


def acceptance_view(result: ScanResult, findings: Sequence[Finding]) -> AcceptanceView | None:
    """The accepted-risks file's check, its expired and stale entries in
    short lists; None when no accepted-risks file was applied."""
    check = result.acceptance
    if check is None:
        return None
    return AcceptanceView(
        check=check,
        expired=check.expired[:MAX_ENTRIES],
        expired_more=max(0, len(check.expired) - MAX_ENTRIES),
        stale=check.stale[:MAX_ENTRIES],
        stale_more=max(0, len(check.stale) - MAX_ENTRIES),
        expired_findings=sum(f.accepted is not None and f.accepted.expired for f in findings),
    )
