"""The HTML risk report: one self-contained file rendered with Jinja2.

Autoescaping is on for everything, since most strings in a ScanResult came
from a target, and every printed value loses its control characters (see
`charts.clean`). The page loads nothing from outside: its
Content-Security-Policy allows only the one inline style sheet and the one
inline script, by the SHA-256 of their exact bytes. The script only adds
filtering and sorting; without it (and in print) everything is shown.

This module prepares simple view data; the template only lays it out.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from scanner.backports import attribute, builtin_shipped, host_distribution
from scanner.formats._text import endpoint, ordered
from scanner.formats.charts import Bar, bar_chart, clean, column_chart, number
from scanner.model import (
    Assessment,
    CustomerTrust,
    Finding,
    Host,
    PlanStep,
    ScanResult,
    Severity,
    Vulnerability,
)
from scanner.products import identify
from scanner.resources import reports_dir
from scanner.risk import (
    CONFIDENCE_FACTOR,
    INTERNET_EXPOSED_FACTOR,
    NO_RISK,
    PRODUCTION_FACTOR,
    REST_SHARE,
    RISK_LEVELS,
    SEVERITY_WEIGHT,
    RiskLevel,
    risk_level,
)
from scanner.rules import address_key
from scanner.trust import PSN_2011

# -- the environment and the inline assets --------------------------------------


def _finalize(value: object) -> object:
    """Every printed value without control characters (escaping comes after)."""
    if isinstance(value, str):
        cleaned = clean(value)
        if cleaned is value:
            return value
        # Replacing control characters cannot create markup: safe for Markup too.
        return Markup(cleaned) if isinstance(value, Markup) else cleaned  # noqa: S704
    return value


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(num=_num, score=_score, placeholders=placeholders)
    env.globals.update(link=link, money_about=money_about)
    return env


@dataclass(frozen=True)
class Asset:
    """An inline style sheet or script and its CSP source expression."""

    text: Markup
    source: str


def _asset(name: str, closing: str) -> Asset:
    text = (reports_dir() / name).read_text(encoding="utf-8")
    # The file is ours, not data; it must not be able to end its own element.
    if closing in text.lower():
        raise ValueError(f"{name} contains {closing}")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Asset(Markup(text), f"'sha256-{digest}'")  # noqa: S704 - our own asset


@lru_cache(maxsize=1)
def _assets() -> tuple[Asset, Asset]:
    return _asset("report.css", "</style"), _asset("report.js", "</script")


def csp(style: Asset, script: Asset) -> Markup:
    """The policy: only these two inline elements, by hash. Markup so that its
    quotes print as quotes (it holds only our keywords and base64)."""
    return Markup(  # noqa: S704 - no data in it
        f"default-src 'none'; script-src {script.source}; style-src {style.source}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


# -- small formatting helpers (also Jinja filters) ------------------------------


def _num(value: int | float | None) -> str:
    return "unknown" if value is None else number(value)


def _score(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.1f}"


_PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,120}\]")


def placeholders(text: str) -> Markup:
    """Escaped text with each `[placeholder]` marked, so a draft shows what to fill in."""
    text = clean(text)
    parts: list[Markup] = []
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup('<mark class="ph">%s</mark>') % match.group())
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


_CURRENCY = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}


def money(value: float, currency: str, digits: int = 0) -> str:
    symbol = _CURRENCY.get(currency.upper())
    amount = f"{value:,.{digits}f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def money_about(value: float, currency: str) -> str:
    """`about $20.8 million`: how a person says a large sum."""
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if value >= size:
            symbol = _CURRENCY.get(currency.upper())
            figure = f"{value / size:,.1f}".removesuffix(".0")
            if symbol:
                return f"about {symbol}{figure} {word}"
            return f"about {figure} {word} {currency}"
    return money(value, currency)


@dataclass(frozen=True)
class Link:
    """A reference: `href` only for http(s) URLs, anything else is shown as text."""

    text: str
    href: str | None


def link(url: str) -> Link:
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    return Link(url, url if scheme in ("http", "https") and url.isprintable() else None)


def _duration(started: str, finished: str) -> str:
    try:
        seconds = int(
            (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
        )
    except (TypeError, ValueError):
        return ""
    if seconds < 0:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


# -- the overall risk level ------------------------------------------------------


# -- findings ----------------------------------------------------------------------


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


# Up to this many findings each carries its rule's text and vulnerability table
# inline; above it they are printed once and linked (the script copies them in
# when a finding is opened), which keeps a 10,000-finding page fast to load.
INLINE_LIMIT = 300


# Above this many findings (or a quarter as many hosts), rows, hosts and large
# tables are laid out only when scrolled to (CSS content-visibility). Not below:
# a full-page screenshot would show them blank.
BIG = 200


def _anchor(fingerprint: str) -> str:
    return f"f-{fingerprint}"


def _ranks(values: Iterable[str], key: Callable[[str], Any] = str) -> dict[str, int]:
    return {v: i for i, v in enumerate(sorted(set(values), key=key))}


def _default_order(result: ScanResult) -> list[Finding]:
    """Highest risk first when assessed, else most severe; ties in `ordered` order."""
    base = ordered(result.findings)
    if result.assessment is None:
        return base
    risks = {r.fingerprint: r.score for r in result.assessment.findings}
    position = {id(f): i for i, f in enumerate(base)}
    return sorted(base, key=lambda f: (-risks.get(f.fingerprint, -1.0), position[id(f)]))


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


def _findings(result: ScanResult) -> list[FindingView]:
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
    findings = _default_order(result)
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
            )
        )
    return views


def _shared(views: Sequence[FindingView]) -> tuple[list[TextBlock], list[VulnBlock]]:
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


def _filters(result: ScanResult) -> Filters:
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


def _refs(
    fingerprints: Sequence[str], known: dict[str, FindingRef], limit: int | None = _MAX_REFS
) -> Refs:
    found = [known[fp] for fp in dict.fromkeys(fingerprints) if fp in known]
    if limit is None or len(found) <= limit:
        return Refs(tuple(found), 0)
    return Refs(tuple(found[:limit]), len(found) - limit)


# -- the executive summary ---------------------------------------------------------------


@dataclass(frozen=True)
class Overall:
    score: float
    level: RiskLevel
    host: str
    system: str


@dataclass(frozen=True)
class TopRisk:
    step: PlanStep
    where: str
    why: str
    data: tuple[str, ...]
    refs: Refs


_TOP_RISKS = 5


@dataclass(frozen=True)
class RiskModel:
    """The risk model's weights, as the appendix states them (from scanner.risk)."""

    weights: tuple[tuple[str, str], ...]
    confidence: tuple[tuple[str, str], ...]
    internet: str
    production: str
    rest: str


def _risk_model() -> RiskModel:
    return RiskModel(
        weights=tuple((s.value, f"{w:g}") for s, w in SEVERITY_WEIGHT.items()),
        confidence=tuple((c.value, f"{f:.1f}") for c, f in CONFIDENCE_FACTOR.items()),
        internet=f"{INTERNET_EXPOSED_FACTOR:g}",
        production=f"{PRODUCTION_FACTOR:g}",
        rest=f"{REST_SHARE:.0%}",
    )


def _overall(assessment: Assessment | None) -> Overall | None:
    if assessment is None:
        return None
    if not assessment.hosts:
        return Overall(0.0, NO_RISK, "", "")
    worst = max(assessment.hosts, key=lambda h: h.score)
    return Overall(worst.score, risk_level(worst.score), worst.host, worst.system)


def _where(system: str, host: str) -> str:
    return f"{system} ({host})" if system else host


def _top_risks(
    result: ScanResult, refs: dict[str, FindingRef], limit: int = _TOP_RISKS
) -> list[TopRisk]:
    assessment = result.assessment
    if assessment is None:
        return []
    by_print = {f.fingerprint: f for f in result.findings}
    exposed = {h.host: h for h in assessment.trust.hosts}
    top = []
    for step in assessment.plan[:limit]:
        fixed = [by_print[fp] for fp in step.fingerprints if fp in by_print]
        worst = max(fixed, key=lambda f: f.severity.rank, default=None)
        # What this host holds, when the step's findings are among those exposing it.
        host = exposed.get(step.host)
        data: tuple[str, ...] = ()
        if host is not None and set(step.fingerprints) & set(host.fingerprints):
            data = (f"{number(host.records)} customer records: {', '.join(host.categories)}",)
        if not data and worst is not None:
            data = worst.trust.data_at_stake
        top.append(
            TopRisk(
                step=step,
                where=_where(step.system, step.host),
                why=worst.trust.impact if worst is not None else "",
                data=data,
                refs=_refs(step.fingerprints, refs, limit=5),
            )
        )
    return top


def _severity_chart(result: ScanResult) -> Markup:
    counts = result.severity_counts()
    bars = [Bar(s.value, counts[s], s.value) for s in reversed(Severity)]
    return column_chart(bars, chart_id="chart-sev", title="Findings by severity", empty="")


_CHART_HOSTS = 20


def _host_chart(assessment: Assessment | None) -> Markup | None:
    if assessment is None:
        return None
    hosts = sorted(assessment.hosts, key=lambda h: (-h.score, address_key(h.host)))
    bars = [
        Bar(
            f"{h.host} {h.system}".strip(),
            h.score,
            risk_level(h.score).name if h.score > 0 else "info",
        )
        for h in hosts[:_CHART_HOSTS]
    ]
    return bar_chart(
        bars,
        chart_id="chart-hosts",
        title=f"Risk score per host (0-100), the {len(bars)} riskiest",
        scale_max=100.0,
        digits=1,
        empty="No host was scored.",
    )


# -- customer trust ----------------------------------------------------------------


@dataclass(frozen=True)
class TrustView:
    trust: CustomerTrust
    host_refs: dict[str, Refs]
    duty_refs: tuple[Refs, ...]
    cost_total: str
    cost_about: str
    cost_per_record: str
    psn_comparison: str


def _trust(assessment: Assessment | None, refs: dict[str, FindingRef]) -> TrustView | None:
    if assessment is None:
        return None
    trust = assessment.trust
    cost = trust.cost
    at_risk = trust.customers_at_risk or trust.records_at_risk
    what = "customers" if trust.customers_at_risk else "customer records"
    comparison = ""
    if at_risk >= PSN_2011.accounts:
        comparison = f"The {number(at_risk)} {what} at risk here are more than PSN's 77 million."
    elif at_risk:
        comparison = (
            f"The {number(at_risk)} {what} at risk here are {at_risk / PSN_2011.accounts:.2%} of "
            "PSN's 77 million; the duties and the loss of trust are the same in kind."
        )
    return TrustView(
        trust=trust,
        host_refs={h.host: _refs(h.fingerprints, refs, limit=5) for h in trust.hosts},
        duty_refs=tuple(_refs(d.fingerprints, refs, limit=8) for d in trust.duties),
        cost_total=money(cost.total, cost.currency) if cost else "",
        cost_about=money_about(cost.total, cost.currency) if cost else "",
        cost_per_record=money(cost.per_record, cost.currency, 2).removesuffix(".00")
        if cost
        else "",
        psn_comparison=comparison,
    )


# -- hosts, firewall, data stores -------------------------------------------------------


@dataclass(frozen=True)
class HostView:
    host: Host
    anchor: str
    score: float | None
    level: str
    system: str
    owner: str
    findings: int
    worst: Severity | None
    versions: dict[int, str]
    tokens: dict[int, str]


def _version_label(host: Host) -> dict[int, str]:
    """Per port, the version as rules read it, or why there is none."""
    labels: dict[int, str] = {}
    host_distro = host_distribution(host)
    for service in host.services:
        parsed = attribute(identify(service), host_distro, builtin_shipped()).version
        if parsed.is_range:
            labels[service.port] = f"range only ({parsed.raw}): no version rule applies"
        elif not parsed.known:
            labels[service.port] = "version unknown"
        else:
            label = str(parsed.version)
            if parsed.distro_reason:
                label += f" (maybe a {parsed.distro} build: {parsed.distro_reason})"
            elif parsed.distro:
                label += f" ({parsed.distro} build: fixes may be backported)"
            labels[service.port] = label
    return labels


def _web_tokens(result: ScanResult) -> dict[str, dict[int, str]]:
    """Per host and port, the software the HTTP headers named (`Server: ...`)."""
    tokens: dict[str, dict[int, str]] = {}
    for obs in result.observations:
        if obs.key == "http.tokens" and obs.port is not None:
            tokens.setdefault(obs.host, {})[obs.port] = obs.evidence or obs.value
    return tokens


def _host_anchors(result: ScanResult) -> dict[str, str]:
    """An id per host address: addresses come from targets, so ids are made, not copied."""
    addresses = sorted({h.address for h in result.hosts}, key=address_key)
    return {a: f"h-{i}" for i, a in enumerate(addresses)}


def _hosts(result: ScanResult, anchors: dict[str, str]) -> list[HostView]:
    assessment = result.assessment
    risks = {h.host: h for h in assessment.hosts} if assessment else {}
    counts = Counter(f.host for f in result.findings)
    worst: dict[str, Severity] = {}
    for f in result.findings:
        if f.host not in worst or f.severity.rank > worst[f.host].rank:
            worst[f.host] = f.severity
    tokens = _web_tokens(result)
    views = []
    for host in sorted(result.hosts, key=lambda h: address_key(h.address)):
        risk = risks.get(host.address)
        score = risk.score if risk else (0.0 if assessment else None)
        views.append(
            HostView(
                host=host,
                anchor=anchors[host.address],
                score=score,
                level=risk_level(score).name if score is not None else "",
                system=risk.system if risk else "",
                owner=risk.owner if risk else "",
                findings=counts.get(host.address, 0),
                worst=worst.get(host.address),
                versions=_version_label(host),
                tokens=tokens.get(host.address, {}),
            )
        )
    return views


@dataclass(frozen=True)
class Fact:
    """An observation as shown: its value, a tone for colour and its evidence."""

    value: str
    tone: str
    evidence: str


# Host observations shown as the host's packet-filter posture, in this order.
POSTURE_KEYS = {
    "firewall.posture": "From the network",
    "firewall.ack": "ACK scan",
    "local.firewall": "Host's own rules",
    "local.ufw": "ufw",
    "local.firewalld": "firewalld",
}
_TONES = {
    "filtered": "good",
    "default-deny": "good",
    "active": "good",
    "running": "good",
    "required": "good",
    "partially-filtered": "warn",
    "accepting-policy": "warn",
    "supplied-credentials": "warn",
    "unfiltered": "bad",
    "none": "bad",
    "inactive": "bad",
    "not-running": "bad",
    "default-credentials": "bad",
}


def _fact(value: str, evidence: str, tones: dict[str, str] | None = None) -> Fact:
    tone = (tones or _TONES).get(value, "neutral")
    return Fact(value.replace("-", " "), tone, evidence)


@dataclass(frozen=True)
class FirewallRow:
    host: str
    anchor: str
    cells: tuple[Fact | None, ...]


def _firewall(result: ScanResult, anchors: dict[str, str]) -> list[FirewallRow]:
    """Per host with any posture observation: one cell per posture key, in order."""
    found = {
        (obs.host, obs.key): obs
        for obs in result.observations
        if obs.port is None and obs.key in POSTURE_KEYS
    }
    hosts = sorted({host for host, _key in found}, key=address_key)
    return [
        FirewallRow(
            host,
            anchors.get(host, ""),
            tuple(
                _fact(o.value, o.evidence) if (o := found.get((host, key))) else None
                for key in POSTURE_KEYS
            ),
        )
        for host in hosts
    ]


@dataclass(frozen=True)
class StoreCategory:
    category: str
    records: int | None
    evidence: str


@dataclass(frozen=True)
class StoreView:
    host: str
    port: int
    where: str
    service: str
    auth: Fact | None
    tls_offered: Fact | None
    plaintext: Fact | None
    personal: Fact | None
    categories: tuple[StoreCategory, ...]
    records: int | None
    notes: tuple[tuple[str, Fact], ...]


_YES_GOOD = {"yes": "good", "no": "bad"}
_YES_BAD = {"yes": "bad", "no": "good"}
# Store observations shown as notes under a store, in this order.
_STORE_NOTES = {
    "store.password_storage": ("Password storage", {"plaintext": "bad", "unsalted-hash": "bad"}),
    "store.card_numbers_plaintext": ("Card numbers in the clear", {}),
    "store.contact_data": ("Contact data", {}),
    "store.gap": ("Could not read", {}),
}


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _stores(result: ScanResult) -> list[StoreView]:
    by_store: dict[tuple[str, int], dict[str, list[tuple[str, str]]]] = {}
    for obs in result.observations:
        if obs.port is not None and obs.key.startswith("store."):
            keys = by_store.setdefault((obs.host, obs.port), {})
            keys.setdefault(obs.key, []).append((obs.value, obs.evidence))
    services = {(h.address, s.port): s for h in result.hosts for s in h.services}

    def one(keys: dict[str, list[tuple[str, str]]], key: str, tones: dict[str, str]) -> Fact | None:
        seen = keys.get(key)
        return _fact(seen[0][0], seen[0][1], tones) if seen else None

    views = []
    for (host, port), keys in sorted(
        by_store.items(), key=lambda i: (address_key(i[0][0]), i[0][1])
    ):
        service = services.get((host, port))
        categories = tuple(
            StoreCategory(key.removeprefix("store.pii."), _int(value), evidence)
            for key in sorted(k for k in keys if k.startswith("store.pii."))
            for value, evidence in keys[key]
        )
        records = keys.get("store.records")
        notes = tuple(
            (label, _fact(value, evidence, tones))
            for key, (label, tones) in _STORE_NOTES.items()
            for value, evidence in keys.get(key, ())
        )
        views.append(
            StoreView(
                host=host,
                port=port,
                where=endpoint(host, port),
                service=(f"{service.name} {service.banner}".strip() if service else ""),
                auth=one(keys, "store.auth", _TONES),
                tls_offered=one(keys, "store.tls_offered", _YES_GOOD),
                plaintext=one(keys, "store.plaintext_allowed", _YES_BAD),
                personal=one(keys, "store.personal_data", _YES_BAD),
                categories=categories,
                records=_int(records[0][0]) if records else None,
                notes=notes,
            )
        )
    return views


# -- the formatter -----------------------------------------------------------------------


class HtmlFormatter:
    def format(self, result: ScanResult) -> str:
        template = _environment().get_template("report.html.j2")
        style, script = _assets()
        findings = _findings(result)
        texts, vuln_lists = _shared(findings)
        refs = {
            v.finding.fingerprint: FindingRef(v.anchor, v.finding.title, v.where) for v in findings
        }
        anchors = _host_anchors(result)
        counts = result.severity_counts()
        assessment = result.assessment
        return template.render(
            result=result,
            css=style.text,
            js=script.text,
            csp=csp(style, script),
            duration=_duration(result.started, result.finished),
            severities=list(reversed(Severity)),
            counts=counts,
            worst=next((s for s in reversed(Severity) if counts[s]), None),
            finding_hosts=len({f.host for f in result.findings}),
            overall=_overall(assessment),
            levels=[(floor, level) for floor, level in RISK_LEVELS],
            top_risks=_top_risks(result, refs),
            severity_chart=_severity_chart(result),
            host_chart=_host_chart(assessment),
            trust=_trust(assessment, refs),
            psn=PSN_2011,
            model=_risk_model(),
            plan=[
                (step, _refs(step.fingerprints, refs, limit=None))
                for step in (assessment.plan if assessment else ())
            ],
            assessment=assessment,
            findings=findings,
            big=len(findings) > BIG or len(result.hosts) > BIG // 4,
            shared=bool(texts),
            texts=texts,
            vuln_lists=vuln_lists,
            filters=_filters(result),
            hosts=_hosts(result, anchors),
            host_anchors=anchors,
            firewall=_firewall(result, anchors),
            posture_labels=list(POSTURE_KEYS.values()),
            stores=_stores(result),
        )
