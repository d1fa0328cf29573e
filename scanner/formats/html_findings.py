"""The HTML report's findings: one view a finding with its sort keys, the rule
texts and vulnerability lists they share, the filter options, and links to
findings for the other sections."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.formats._text import endpoint, risk_order
from scanner.formats.html_text import Link, link
from scanner.model import (
    Acceptance,
    BaselineState,
    Finding,
    ScanResult,
    Severity,
    Vulnerability,
    address_key,
)


@dataclass(frozen=True)
class TextBlock:
    """What a rule says about its findings: the same for every finding with the same text."""

    anchor: str
    rule_id: str
    title: str
    description: str
    impact: str
    data_at_stake: tuple[str, ...]
    remediation: str
    references: tuple[Link, ...]
    findings: int


@dataclass(frozen=True)
class VulnBlock:
    """A list of known vulnerabilities, shared by the findings that carry the same list."""

    anchor: str
    rows: tuple[tuple[Vulnerability, tuple[Link, ...]], ...]
    worst_cvss: float | None
    findings: int


@dataclass(frozen=True)
class FindingView:
    finding: Finding
    anchor: str
    where: str
    risk: float | None
    factors: tuple[str, ...]
    # Precomputed sort keys: the script sorts by numbers only.
    host_order: int
    rule_order: int
    title_order: int
    # One line an item (the page shows it with `white-space: pre-line`): no
    # element per line, which counts at 10,000 findings.
    evidence: str
    text: TextBlock
    vulns: VulnBlock | None
    plan_rank: int | None
    # The CVEs the distribution fixed in this package, one line each with the
    # advisory that says so ("CVE-2024-6387: DSA-5724-1: fixed in ...").
    fixed: str = ""
    # The team's acceptance of this risk, in words (`acceptance_text`).
    accepted: str = ""


# Up to this many findings each carries its rule's text and vulnerability table
# inline; above it they are printed once and linked (the script copies them in
# when a finding is opened), which keeps a 10,000-finding page fast to load.
INLINE_LIMIT = 300


# Above this many findings (or a quarter as many hosts), rows, hosts and large
# tables are laid out only when scrolled to (CSS content-visibility). Not below:
# a full-page screenshot would show them blank.
BIG = 200


def acceptance_text(accepted: Acceptance) -> str:
    """The acceptance in words: accepted by OWNER until DATE: REASON (and the
    entry), or that it expired on DATE."""
    if accepted.expired:
        return (
            f"acceptance expired on {accepted.expires}: {accepted.reason} "
            f"(accepted by {accepted.owner}; {accepted.source})"
        )
    return (
        f"accepted by {accepted.owner} until {accepted.expires}: {accepted.reason} "
        f"({accepted.source})"
    )


def _anchor(fingerprint: str) -> str:
    return f"f-{fingerprint}"


def _ranks(values: Iterable[str], key: Callable[[str], Any] = str) -> dict[str, int]:
    return {v: i for i, v in enumerate(sorted(set(values), key=key))}


def _text_blocks(findings: Sequence[Finding]) -> dict[int, TextBlock]:
    """Per finding (by id), its rule text; identical texts share one block."""
    keys: dict[tuple[object, ...], list[Finding]] = {}
    for f in findings:
        key = (f.rule_id, f.title, f.description, f.trust, f.remediation, f.references)
        keys.setdefault(key, []).append(f)
    blocks: dict[int, TextBlock] = {}
    for i, items in enumerate(keys.values()):
        f = items[0]
        block = TextBlock(
            anchor=f"t-{i}",
            rule_id=f.rule_id,
            title=f.title,
            description=f.description,
            impact=f.trust.impact,
            data_at_stake=f.trust.data_at_stake,
            remediation=f.remediation,
            references=tuple(link(r) for r in f.references),
            findings=len(items),
        )
        for item in items:
            blocks[id(item)] = block
    return blocks


def _vuln_blocks(findings: Sequence[Finding]) -> dict[int, VulnBlock]:
    keys: dict[tuple[Vulnerability, ...], list[Finding]] = {}
    for f in findings:
        if f.vulnerabilities:
            keys.setdefault(f.vulnerabilities, []).append(f)
    blocks: dict[int, VulnBlock] = {}
    for i, (vulns, items) in enumerate(keys.items()):
        scores = [v.cvss_score for v in vulns if v.cvss_score is not None]
        block = VulnBlock(
            anchor=f"v-{i}",
            rows=tuple((v, tuple(link(r) for r in v.references)) for v in vulns),
            worst_cvss=max(scores) if scores else None,
            findings=len(items),
        )
        for item in items:
            blocks[id(item)] = block
    return blocks


def finding_views(result: ScanResult) -> list[FindingView]:
    """Every finding in the default order, with its sort keys and shared texts."""
    assessment = result.assessment
    risks = {r.fingerprint: r for r in assessment.findings} if assessment else {}
    plan_rank: dict[str, int] = {}
    for step in assessment.plan if assessment else ():
        for fp in step.fingerprints:
            plan_rank.setdefault(fp, step.rank)
    hosts = sorted(
        {(f.host, -1 if f.port is None else f.port) for f in result.findings},
        key=lambda hp: (address_key(hp[0]), hp[1]),
    )
    host_order = {hp: i for i, hp in enumerate(hosts)}
    rule_order = _ranks(f.rule_id for f in result.findings)
    title_order = _ranks((f.title for f in result.findings), key=lambda t: (t.casefold(), t))
    findings = risk_order(result)
    texts = _text_blocks(findings)
    vulns = _vuln_blocks(findings)
    views = []
    for f in findings:
        risk = risks.get(f.fingerprint)
        where = endpoint(f.host, f.port) + (f"/{f.protocol}" if f.port is not None else "")
        views.append(
            FindingView(
                finding=f,
                anchor=_anchor(f.fingerprint),
                where=where,
                risk=risk.score if risk else None,
                factors=risk.factors if risk else (),
                host_order=host_order[(f.host, -1 if f.port is None else f.port)],
                rule_order=rule_order[f.rule_id],
                title_order=title_order[f.title],
                evidence="\n".join(e.replace("\n", " \u23ce ") for e in f.evidence),
                text=texts[id(f)],
                vulns=vulns.get(id(f)),
                plan_rank=plan_rank.get(f.fingerprint),
                fixed="\n".join(
                    f"{v.id}: {v.backport_evidence}".replace("\n", " ")
                    for v in f.fixed_by_distribution
                ),
                accepted=acceptance_text(f.accepted) if f.accepted is not None else "",
            )
        )
    return views


def shared_blocks(views: Sequence[FindingView]) -> tuple[list[TextBlock], list[VulnBlock]]:
    """The blocks to print once, in order of first use; none when findings are few."""
    if len(views) <= INLINE_LIMIT:
        return [], []
    texts = {v.text.anchor: v.text for v in views}
    vulns = {v.vulns.anchor: v.vulns for v in views if v.vulns is not None}
    return list(texts.values()), list(vulns.values())


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def _options(values: Iterable[str], key: Callable[[str], Any] = str) -> list[Option]:
    counts = Counter(values)
    return [Option(v, f"{v or '(none)'} ({counts[v]:,})") for v in sorted(counts, key=key)]


@dataclass(frozen=True)
class Filters:
    severities: list[Option]
    hosts: list[Option]
    rules: list[Option]
    categories: list[Option]
    # Against the baseline (new, changed, unchanged); empty when not compared.
    states: list[Option] = field(default_factory=list)


# What a reviewer looks for first: the new, then what moved.
_STATE_ORDER = {
    s.value: i
    for i, s in enumerate((BaselineState.NEW, BaselineState.CHANGED, BaselineState.UNCHANGED))
}


def finding_filters(result: ScanResult) -> Filters:
    counts = result.severity_counts()
    severities = [Option(str(s.rank), f"{s.value} ({counts[s]:,})") for s in reversed(Severity)] + [
        Option(f"ge{s.rank}", f"{s.value} or worse")
        for s in (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
    ]
    return Filters(
        severities=severities,
        hosts=_options((f.host for f in result.findings), key=address_key),
        rules=_options(f.rule_id for f in result.findings),
        categories=_options(f.category for f in result.findings),
        states=_options(
            (f.baseline.value for f in result.findings if f.baseline is not None),
            key=lambda v: _STATE_ORDER.get(v, len(_STATE_ORDER)),
        ),
    )


@dataclass(frozen=True)
class FindingRef:
    """A link to a finding, for the summary, trust and plan sections."""

    anchor: str
    title: str
    where: str


_MAX_REFS = 20


@dataclass(frozen=True)
class Refs:
    shown: tuple[FindingRef, ...]
    more: int


def refs_to(
    fingerprints: Sequence[str], known: dict[str, FindingRef], limit: int | None = _MAX_REFS
) -> Refs:
    found = [known[fp] for fp in dict.fromkeys(fingerprints) if fp in known]
    if limit is None or len(found) <= limit:
        return Refs(tuple(found), 0)
    return Refs(tuple(found[:limit]), len(found) - limit)
