"""The HTML report's findings: one view a finding with its sort keys, the rule
texts and vulnerability lists they share, the filter options, and links to
findings for the other sections."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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


# The printed list (the page without script, and on paper) holds the riskiest
# this many findings; above it, the JSON result and the Markdown summary hold
# the rest, and the page's script shows every finding from its embedded data.
# A thousand findings is some 300 printed pages.
PRINT_LIMIT = 1_000

# Up to this many printed findings each carries its rule's text and
# vulnerability table inline; above it they are printed once and linked.
INLINE_LIMIT = 300


# Above this many findings (or a quarter as many hosts), plan rows, hosts and
# large tables are laid out only when scrolled to (CSS content-visibility). Not
# below: a full-page screenshot would show them blank.
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


def _text_key(f: Finding) -> tuple[object, ...]:
    return (f.rule_id, f.title, f.description, f.trust, f.remediation, f.references)


def _where(f: Finding) -> str:
    return endpoint(f.host, f.port) + (f"/{f.protocol}" if f.port is not None else "")


class FindingList:
    """Every finding of a result in the report's default order (highest risk
    first), with what a view of one needs: sort keys, the shared rule texts
    and vulnerability lists (one block per distinct text or list, numbered in
    order of first use), risk and plan step.

    It holds one reference a finding and one entry per distinct host, rule,
    title, text and list; a finding's view is made when it is asked for, so
    that a result of 100,000 findings is never held twice as views."""

    def __init__(self, result: ScanResult) -> None:
        assessment = result.assessment
        self.assessed = assessment is not None
        self._risks = {r.fingerprint: r for r in assessment.findings} if assessment else {}
        self._plan_rank: dict[str, int] = {}
        for step in assessment.plan if assessment else ():
            for fp in step.fingerprints:
                self._plan_rank.setdefault(fp, step.rank)
        findings = result.findings
        hosts = sorted(
            {(f.host, -1 if f.port is None else f.port) for f in findings},
            key=lambda hp: (address_key(hp[0]), hp[1]),
        )
        self._host_order = {hp: i for i, hp in enumerate(hosts)}
        self._rule_order = _ranks(f.rule_id for f in findings)
        self._title_order = _ranks((f.title for f in findings), key=lambda t: (t.casefold(), t))
        self.ordered: list[Finding] = risk_order(result)
        self._texts: dict[tuple[object, ...], TextBlock] = {}
        self._vulns: dict[tuple[Vulnerability, ...], VulnBlock] = {}
        text_uses: Counter[tuple[object, ...]] = Counter()
        text_first: dict[tuple[object, ...], Finding] = {}
        vuln_uses: Counter[tuple[Vulnerability, ...]] = Counter()
        for f in self.ordered:
            key = _text_key(f)
            text_uses[key] += 1
            text_first.setdefault(key, f)
            if f.vulnerabilities:
                vuln_uses[f.vulnerabilities] += 1
        for i, (key, uses) in enumerate(text_uses.items()):
            self._texts[key] = _text_block(f"t-{i}", text_first[key], uses)
        for i, (vulns, uses) in enumerate(vuln_uses.items()):
            self._vulns[vulns] = _vuln_block(f"v-{i}", vulns, uses)

    def __len__(self) -> int:
        return len(self.ordered)

    @property
    def texts(self) -> list[TextBlock]:
        """Every distinct rule text, in order of first use (anchors t-0, t-1, ...)."""
        return list(self._texts.values())

    @property
    def vuln_lists(self) -> list[VulnBlock]:
        return list(self._vulns.values())

    def view(self, f: Finding) -> FindingView:
        risk = self._risks.get(f.fingerprint)
        return FindingView(
            finding=f,
            anchor=_anchor(f.fingerprint),
            where=_where(f),
            risk=risk.score if risk else None,
            factors=risk.factors if risk else (),
            host_order=self._host_order[(f.host, -1 if f.port is None else f.port)],
            rule_order=self._rule_order[f.rule_id],
            title_order=self._title_order[f.title],
            evidence="\n".join(e.replace("\n", " \u23ce ") for e in f.evidence),
            text=self._texts[_text_key(f)],
            vulns=self._vulns.get(f.vulnerabilities) if f.vulnerabilities else None,
            plan_rank=self._plan_rank.get(f.fingerprint),
            fixed="\n".join(
                f"{v.id}: {v.backport_evidence}".replace("\n", " ") for v in f.fixed_by_distribution
            ),
            accepted=acceptance_text(f.accepted) if f.accepted is not None else "",
        )

    def views(self, limit: int | None = None) -> Iterator[FindingView]:
        """The views of the first `limit` findings (all: None), made one at a time."""
        for f in self.ordered if limit is None else self.ordered[:limit]:
            yield self.view(f)


def _text_block(anchor: str, f: Finding, uses: int) -> TextBlock:
    return TextBlock(
        anchor=anchor,
        rule_id=f.rule_id,
        title=f.title,
        description=f.description,
        impact=f.trust.impact,
        data_at_stake=f.trust.data_at_stake,
        remediation=f.remediation,
        references=tuple(link(r) for r in f.references),
        findings=uses,
    )


def _vuln_block(anchor: str, vulns: tuple[Vulnerability, ...], uses: int) -> VulnBlock:
    scores = [v.cvss_score for v in vulns if v.cvss_score is not None]
    return VulnBlock(
        anchor=anchor,
        rows=tuple((v, tuple(link(r) for r in v.references)) for v in vulns),
        worst_cvss=max(scores) if scores else None,
        findings=uses,
    )


def shared_blocks(views: Sequence[FindingView]) -> tuple[list[TextBlock], list[VulnBlock]]:
    """The blocks the printed findings (`views`) link to, to print once; none
    when they are few enough to carry their texts inline."""
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
    # Empty above MAX_HOST_OPTIONS hosts: the filter is then a field taking an
    # address or its start ("10.1.").
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


# A list of more hosts than this is no way to choose one (and tens of
# thousands of <option>s are slow to lay out).
MAX_HOST_OPTIONS = 2_000


def finding_filters(result: ScanResult) -> Filters:
    counts = result.severity_counts()
    hosts = _options((f.host for f in result.findings), key=address_key)
    severities = [Option(str(s.rank), f"{s.value} ({counts[s]:,})") for s in reversed(Severity)] + [
        Option(f"ge{s.rank}", f"{s.value} or worse")
        for s in (Severity.HIGH, Severity.MEDIUM, Severity.LOW)
    ]
    return Filters(
        severities=severities,
        hosts=hosts if len(hosts) <= MAX_HOST_OPTIONS else [],
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
    fingerprints: Sequence[str], known: Mapping[str, FindingRef], limit: int | None = _MAX_REFS
) -> Refs:
    found = [known[fp] for fp in dict.fromkeys(fingerprints) if fp in known]
    if limit is None or len(found) <= limit:
        return Refs(tuple(found), 0)
    return Refs(tuple(found[:limit]), len(found) - limit)


class FindingRefs(Mapping[str, FindingRef]):
    """Links to findings by fingerprint, each made when asked for: the other
    sections link to a few of the findings, not to 100,000 of them."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self._by_print = {f.fingerprint: f for f in findings}

    def __getitem__(self, fingerprint: str) -> FindingRef:
        f = self._by_print[fingerprint]
        return FindingRef(_anchor(fingerprint), f.title, _where(f))

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_print)

    def __len__(self) -> int:
        return len(self._by_print)


@dataclass(frozen=True)
class RefGroup:
    """Findings with one title, linked by the first: a plan step names
    "Apache httpd 2.4.49 has 47 known vulnerabilities (x3)" once."""

    first: FindingRef
    count: int


@dataclass(frozen=True)
class GroupedRefs:
    shown: tuple[RefGroup, ...]
    more: int  # findings in no group shown


def grouped_refs(
    fingerprints: Sequence[str], known: Mapping[str, FindingRef], limit: int
) -> GroupedRefs:
    groups: dict[str, list[FindingRef]] = {}
    for fp in dict.fromkeys(fingerprints):
        if fp in known:
            ref = known[fp]
            groups.setdefault(ref.title, []).append(ref)
    shown = [RefGroup(refs[0], len(refs)) for refs in groups.values()][:limit]
    total = sum(len(refs) for refs in groups.values())
    return GroupedRefs(tuple(shown), total - sum(g.count for g in shown))
