"""The HTML report's executive summary and customer-trust section: the overall
risk, the top risks, the charts, the risk model and what a breach would cost."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from scanner.assessment.risk import (
    CONFIDENCE_FACTOR,
    INTERNET_EXPOSED_FACTOR,
    NO_RISK,
    PRODUCTION_FACTOR,
    REST_SHARE,
    SEVERITY_WEIGHT,
    RiskLevel,
    risk_level,
)
from scanner.assessment.trust import PSN_2011
from scanner.formats.charts import Bar, bar_chart, column_chart, number
from scanner.formats.html_findings import FindingRef, Refs, refs_to
from scanner.formats.html_text import money, money_about
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


def overall(assessment: Assessment | None) -> Overall | None:
    if assessment is None:
        return None
    if not assessment.hosts:
        return Overall(0.0, NO_RISK, "", "")
    worst = max(assessment.hosts, key=lambda h: h.score)
    return Overall(worst.score, risk_level(worst.score), worst.host, worst.system)


def _where(system: str, host: str) -> str:
    return f"{system} ({host})" if system else host


def top_risks(
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


def trust_view(assessment: Assessment | None, refs: dict[str, FindingRef]) -> TrustView | None:
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
        host_refs={h.host: refs_to(h.fingerprints, refs, limit=5) for h in trust.hosts},
        duty_refs=tuple(refs_to(d.fingerprints, refs, limit=8) for d in trust.duties),
        cost_total=money(cost.total, cost.currency) if cost else "",
        cost_about=money_about(cost.total, cost.currency) if cost else "",
        cost_per_record=money(cost.per_record, cost.currency, 2).removesuffix(".00")
        if cost
        else "",
        psn_comparison=comparison,
    )
