"""The HTML report's executive summary and customer-trust section: the overall
risk, the top risks, the charts, the risk model and what a breach would cost.

The summary explains this scan's own score (`risk.explain_score`), never the
calibration of the levels (that is the appendix's table). Record counts come
from the one count per host (`scanner.assessment.records`), and the cost is
shown rounded with its basis, never to the dollar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup

from scanner.assessment.records import records_of, result_counts
from scanner.assessment.risk import (
    CONFIDENCE_FACTOR,
    INTERNET_EXPOSED_FACTOR,
    NO_RISK,
    PRODUCTION_FACTOR,
    REST_SHARE,
    SEVERITY_WEIGHT,
    RiskLevel,
    explain_score,
    risk_level,
)
from scanner.assessment.trust import (
    PSN_2011,
    cost_about,
    cost_basis_text,
    per_record_text,
)
from scanner.formats.charts import Bar, bar_chart, column_chart, number
from scanner.formats.html_findings import FindingRef, Refs, refs_to
from scanner.model import Assessment, CustomerTrust, PlanStep, ScanResult, Severity, address_key

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
    """The risk model's weights, as the appendix states them (from scanner.assessment.risk)."""

    weights: tuple[tuple[str, str], ...]
    confidence: tuple[tuple[str, str], ...]
    internet: str
    production: str
    rest: str


def risk_model() -> RiskModel:
    return RiskModel(
        weights=tuple((s.value, f"{w:g}") for s, w in SEVERITY_WEIGHT.items()),
        confidence=tuple((c.value, f"{f:.1f}") for c, f in CONFIDENCE_FACTOR.items()),
        internet=f"{INTERNET_EXPOSED_FACTOR:g}",
        production=f"{PRODUCTION_FACTOR:g}",
        rest=f"{REST_SHARE:.0%}",
    )


def overall(result: ScanResult) -> Overall | None:
    """The overall risk: the riskiest host's score and level, its meaning in
    this scan's numbers (why that host scores what it does) and what to do."""
    assessment = result.assessment
    if assessment is None:
        return None
    if not assessment.hosts:
        return Overall(0.0, NO_RISK, "", "")
    worst = max(assessment.hosts, key=lambda h: h.score)
    level = risk_level(worst.score)
    if worst.score <= 0:
        return Overall(worst.score, level, worst.host, worst.system)
    said = f"{explain_score(result, worst)} {level.advice}".strip()
    return Overall(worst.score, RiskLevel(level.name, said, level.advice), worst.host, worst.system)


def _where(system: str, host: str) -> str:
    return f"{system} ({host})" if system else host


def top_risks(
    result: ScanResult, refs: Mapping[str, FindingRef], limit: int = _TOP_RISKS
) -> list[TopRisk]:
    assessment = result.assessment
    if assessment is None:
        return []
    by_print = {f.fingerprint: f for f in result.findings}
    exposed = {h.host: h for h in assessment.trust.hosts}
    counts = result_counts(result)
    top = []
    for step in assessment.plan[:limit]:
        fixed = [by_print[fp] for fp in step.fingerprints if fp in by_print]
        worst = max(fixed, key=lambda f: f.severity.rank, default=None)
        # What this host holds, when the step's findings are among those exposing it.
        host = exposed.get(step.host)
        data: tuple[str, ...] = ()
        if host is not None and set(step.fingerprints) & set(host.fingerprints):
            counted = records_of(counts, host.host)
            same = counted is not None and counted.records == host.records
            how = f" ({counted.source})" if counted is not None and same else ""
            data = (f"{number(host.records)} customer records{how}: {', '.join(host.categories)}",)
        if not data and worst is not None:
            data = worst.trust.data_at_stake
        top.append(
            TopRisk(
                step=step,
                where=_where(step.system, step.host),
                why=worst.trust.impact if worst is not None else "",
                data=data,
                refs=refs_to(step.fingerprints, refs, limit=5),
            )
        )
    return top


def severity_chart(result: ScanResult) -> Markup:
    counts = result.severity_counts()
    bars = [Bar(s.value, counts[s], s.value) for s in reversed(Severity)]
    return column_chart(bars, chart_id="chart-sev", title="Findings by severity", empty="")


_CHART_HOSTS = 20


def host_chart(assessment: Assessment | None) -> Markup | None:
    if assessment is None:
        return None
    hosts = sorted(assessment.hosts, key=lambda h: (-h.score, address_key(h.host)))
    # Tones `risk-<level>`: the risk scale, not the severity colours (a
    # chart without a risk tone draws the bars in its neutral colour).
    bars = [
        Bar(f"{h.host} {h.system}".strip(), h.score, f"risk-{risk_level(h.score).name}")
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
    cost_basis: str
    psn_comparison: str


def _short_amount(about: str) -> str:
    """`about $29 million` -> `$29 M`: the big number of the cost section."""
    return about.removeprefix("about ").replace(" million", " M").replace(" billion", " bn")


def trust_view(assessment: Assessment | None, refs: Mapping[str, FindingRef]) -> TrustView | None:
    if assessment is None:
        return None
    trust = assessment.trust
    cost = trust.cost
    at_risk = trust.customers_at_risk or trust.records_at_risk
    what = "customers" if trust.customers_at_risk else "customer records"
    # The estimate, rounded to two figures: "$29 M" as the big number, "about
    # $29 million" where a sentence or a key figure says it, and what it
    # multiplies ("165,000 customers x $173 per record, IBM/Ponemon 2024").
    about = cost_about(cost) if cost else ""
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
        host_refs={h.host: refs_to(h.fingerprints, refs, limit=5) for h in trust.hosts},
        duty_refs=tuple(refs_to(d.fingerprints, refs, limit=8) for d in trust.duties),
        cost_total=_short_amount(about),
        cost_about=about,
        cost_per_record=per_record_text(cost) if cost else "",
        cost_basis=cost_basis_text(cost) if cost else "",
        psn_comparison=comparison,
    )
