"""The customer-trust summary: what the exposing findings mean for customers.

Part of the assess stage (`scanner.assessment.risk.assess` calls it). From the findings,
the data the probes saw and the optional inventory it answers:

- which customer data is at risk: per category, the records and customers,
  the segments they belong to, the hosts and the findings that expose them;
- the duties that would follow if the exposure were exploited (GDPR Art. 33
  and 34, PCI DSS), each with the findings that trigger it;
- what a breach of those records would cost, at a stated per-record figure;
- a draft first notice to each affected segment (`scanner.assessment.notices`).

How it counts
-------------

- A finding *exposes* its host's customer data when it is at least
  `EXPOSING` (medium) severity: a way in to the host is a way to its data.
  Low and informational findings are hygiene, not exposure.
- A host's data categories are the inventory's `data_categories` for it plus
  what the probes observed there (`store.pii.<category>` from the data-store
  probes, `http.dump` from dumps a web server hands out).
- A category's records on a host: the inventory's `customer_records` when it
  gives them (it knows the whole system), else the records the probes
  counted for that category. Records add up across hosts (each copy leaks).
- A host's records are its one count (`scanner.assessment.records`, which
  says which source wins: the inventory, then the stores' statistics, then
  rows read from a dump), the same number every view shows.
- Customers come only from the inventory's segments. A segment is a group of
  people, so the same segment named on two systems is counted once, at its
  largest size; customers at risk are the sum over distinct segments.
- The cost multiplies the customers at risk (or, when no segment gives
  them, the records at risk) by the per-record cost: a customer counts as
  one record, as the per-record figure counts people. It is an order of
  magnitude, shown rounded to two figures (`cost_about`) with its basis
  (`cost_basis_text`), never to the dollar. The default figure is
  the average cost per customer-PII record in IBM and Ponemon's Cost of a
  Data Breach Report 2024 (USD 173); that report leaves out breaches of more
  than a million records, so above that the per-record figure overstates
  (large breaches cost less per record) and the estimate says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# The cost basis lives apart (the command line shows its default in `--help`);
# the estimate's callers still find it here.
from scanner.assessment.cost import DEFAULT_COST as DEFAULT_COST
from scanner.assessment.cost import MAX_COST_PER_RECORD as MAX_COST_PER_RECORD
from scanner.assessment.cost import CostBasis as CostBasis
from scanner.assessment.cost import cost_basis as cost_basis
from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.notices import (
    CATEGORY_WORDS,
    draft_notice,
    draft_notice_for_everyone,
    words,
)
from scanner.assessment.records import Key, counts_by_key, record_counts, records_of
from scanner.model import (
    Assessment,
    CategoryAtRisk,
    CostEstimate,
    CustomerTrust,
    Duty,
    DutyKind,
    Finding,
    HostAtRisk,
    Observation,
    RecordCount,
    ScanResult,
    SegmentAtRisk,
    Severity,
)

EXPOSING = Severity.MEDIUM

# The categories whose loss is, on its own, likely a *high* risk to people
# (fraud, account takeover, identity theft): GDPR Art. 34 then asks that they
# be told. Contact data alone is usually a risk, not a high one.
HIGH_RISK_CATEGORIES = frozenset({"card-number", "iban", "password", "national-id"})
CARD = "card-number"

MEGA_BREACH_RECORDS = 1_000_000
GDPR_URL = "https://eur-lex.europa.eu/eli/reg/2016/679/oj"
PCI_URL = "https://www.pcisecuritystandards.org/document_library/"


def saved_cost(assessment: Assessment | None) -> CostBasis:
    """The cost basis a saved assessment used, to assess it again alike."""
    cost = assessment.trust.cost if assessment is not None else None
    if cost is None:
        return DEFAULT_COST
    return CostBasis(cost.per_record, cost.currency, cost.source)


@dataclass(frozen=True)
class ReferenceCase:
    """A real breach the report measures against."""

    name: str
    year: int
    accounts: int
    cost: float
    currency: str
    days_to_tell: int
    summary: str
    sources: tuple[str, ...]


# The reference the report holds every estimate against (the mission's case).
PSN_2011 = ReferenceCase(
    name="PlayStation Network",
    year=2011,
    accounts=77_000_000,
    cost=171_000_000.0,
    currency="USD",
    days_to_tell=7,
    summary=(
        "Intruders were in Sony's PlayStation Network from 17 to 19 April 2011. Sony "
        "shut the service down on 20 April and told its 77 million account holders "
        "on 26 April that names, addresses, emails, birth dates and passwords had "
        "been taken, and that card data might have been. Sony put the cost at about "
        "USD 171 million. The servers ran outdated, unpatched Apache, with no "
        "firewall in front of them."
    ),
    sources=(
        "Sony, PlayStation Network and Qriocity update, 26 April 2011",
        "Sony, FY2010 results, 23 May 2011 (about 14 billion yen, USD 171 million)",
        "US House Energy and Commerce subcommittee hearing, 4 May 2011",
    ),
)


@dataclass
class _Category:
    records: int = 0
    sources: list[str] = field(default_factory=list)


@dataclass
class _HostData:
    """One exposed host: its categories, its segments, the findings on it."""

    host: str
    asset: Asset | None
    fingerprints: list[str]
    worst: Severity
    # The host's one record count (`scanner.assessment.records`), if any.
    counted: RecordCount | None = None
    categories: dict[str, _Category] = field(default_factory=dict)

    def add(self, category: str, records: int, source: str) -> None:
        entry = self.categories.setdefault(category, _Category())
        entry.records += records
        if source not in entry.sources:
            entry.sources.append(source)

    @property
    def records(self) -> int:
        """Customers' records on the host: one record a customer, whatever
        fields it has; its one count when it has one."""
        if self.counted is not None:
            return self.counted.records
        return max((c.records for c in self.categories.values()), default=0)


def _count(value: str) -> int:
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


def _observed(host: _HostData, observations: Iterable[Observation]) -> None:
    """Categories and counts the probes saw on the host (when the inventory has no count)."""
    dump_records: dict[int | None, int] = {}
    dumps: list[Observation] = []
    for obs in observations:
        if obs.key.startswith("store.pii."):
            category = obs.key.removeprefix("store.pii.")
            host.add(category, _count(obs.value), f"observed on {obs.host}:{obs.port}")
        elif obs.key == "http.dump_records":
            dump_records[obs.port] = dump_records.get(obs.port, 0) + _count(obs.value)
        elif obs.key == "http.dump" and obs.value not in ("", "none"):
            dumps.append(obs)
    for obs in dumps:
        for category in (c.strip() for c in obs.value.split(",")):
            if category:
                where = f"observed in a dump on {obs.host}:{obs.port}"
                host.add(category, dump_records.get(obs.port, 0), where)


def _from_inventory(host: _HostData) -> None:
    asset = host.asset
    if asset is None:
        return
    records = asset.customer_records
    for category in asset.data_categories:
        entry = host.categories.setdefault(category, _Category())
        if records is not None:
            entry.records = records  # the inventory knows the whole system
        entry.sources.insert(0, f"inventory {asset.source}")


def _exposed_hosts(
    result: ScanResult, inventory: Inventory | None, counts: dict[Key, RecordCount]
) -> list[_HostData]:
    names = {h.address: h.hostnames for h in result.hosts}
    by_host: dict[str, list[Finding]] = {}
    for finding in result.findings:
        if finding.severity.rank >= EXPOSING.rank:
            by_host.setdefault(finding.host, []).append(finding)
    observations: dict[str, list[Observation]] = {}
    for obs in result.observations:
        observations.setdefault(obs.host, []).append(obs)
    exposed = []
    for host, findings in by_host.items():
        asset = inventory.lookup(host, names.get(host, ())) if inventory is not None else None
        data = _HostData(
            host,
            asset,
            [f.fingerprint for f in findings],
            max((f.severity for f in findings), key=lambda s: s.rank),
            records_of(counts, host),
        )
        _observed(data, observations.get(host, ()))
        _from_inventory(data)
        if data.categories:
            exposed.append(data)
    return exposed


def _segments(hosts: Sequence[_HostData]) -> list[SegmentAtRisk]:
    merged: dict[str, SegmentAtRisk] = {}
    for host in hosts:
        if host.asset is None:
            continue
        for segment in host.asset.segments:
            categories = segment.data_categories or tuple(host.categories)
            seen = merged.get(segment.name)
            merged[segment.name] = SegmentAtRisk(
                segment.name,
                max(segment.customers, seen.customers if seen else 0),
                ordered([*(seen.categories if seen else ()), *categories]),
                _union(seen.hosts if seen else (), (host.host,)),
                _union(seen.fingerprints if seen else (), host.fingerprints),
            )
    return sorted(merged.values(), key=lambda s: (-s.customers, s.name))


def _host_rows(hosts: Sequence[_HostData]) -> list[HostAtRisk]:
    rows = []
    for host in hosts:
        asset = host.asset
        rows.append(
            HostAtRisk(
                host=host.host,
                records=host.records,
                categories=ordered(host.categories),
                segments=tuple(s.name for s in asset.segments) if asset else (),
                sources=tuple(
                    dict.fromkeys(s for c in host.categories.values() for s in c.sources)
                ),
                fingerprints=tuple(host.fingerprints),
                worst=host.worst,
                system=asset.system if asset else "",
                owner=asset.owner if asset else "",
            )
        )
    return sorted(rows, key=lambda h: (-h.records, -h.worst.rank, h.host))


def _union(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *second]))


_ORDER = {category: index for index, category in enumerate(CATEGORY_WORDS)}


def ordered(categories: Iterable[str]) -> tuple[str, ...]:
    """Categories in one fixed order (contact data first, secrets last), once each."""
    return tuple(sorted(set(categories), key=lambda c: (_ORDER.get(c, len(_ORDER)), c)))


def _categories(
    hosts: Sequence[_HostData], segments: Sequence[SegmentAtRisk]
) -> list[CategoryAtRisk]:
    names = list(dict.fromkeys(c for h in hosts for c in h.categories))
    rows = []
    for category in names:
        holding = [h for h in hosts if category in h.categories]
        in_segments = [s for s in segments if category in s.categories]
        rows.append(
            CategoryAtRisk(
                category=category,
                records=sum(h.categories[category].records for h in holding),
                customers=sum(s.customers for s in in_segments) if in_segments else None,
                segments=tuple(s.name for s in in_segments),
                hosts=tuple(h.host for h in holding),
                sources=tuple(src for h in holding for src in h.categories[category].sources),
                fingerprints=tuple(fp for h in holding for fp in h.fingerprints),
            )
        )
    return sorted(rows, key=lambda c: (-c.records, _ORDER.get(c.category, len(_ORDER))))


def _list(items: Iterable[str]) -> str:
    shown = list(items)
    return ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else "".join(shown)


def _people(customers: int | None, records: int) -> str:
    if customers is not None:
        return f"{customers:,} customers"
    return f"{records:,} records" if records else "an unknown number of customers"


def _duties(hosts: Sequence[_HostData], customers: int | None, records: int) -> list[Duty]:
    categories = ordered(c for h in hosts for c in h.categories)
    everyone = [fp for h in hosts for fp in h.fingerprints]
    people = _people(customers, records)
    duties = [
        Duty(
            kind=DutyKind.GDPR_ART_33,
            title="Notify the supervisory authority",
            basis="GDPR Art. 33(1)",
            deadline="within 72 hours of becoming aware of the breach",
            who="the data protection supervisory authority where you are established",
            why=(
                f"Findings expose personal data ({words(categories)}) of {people}. A breach "
                "of it is a personal data breach the controller must report, unless it is "
                "unlikely to result in a risk to people; a late report must say why."
            ),
            fingerprints=tuple(everyone),
            reference=GDPR_URL,
        )
    ]
    serious = [
        h
        for h in hosts
        if HIGH_RISK_CATEGORIES & h.categories.keys() or h.worst.rank >= Severity.HIGH.rank
    ]
    if serious:
        sensitive = ordered(HIGH_RISK_CATEGORIES & {c for h in serious for c in h.categories})
        because = (
            f"the exposed data includes {words(sensitive)}, which enable fraud or account takeover"
            if sensitive
            else "high or critical findings make a breach likely to succeed"
        )
        duties.append(
            Duty(
                kind=DutyKind.GDPR_ART_34,
                title="Tell the customers affected",
                basis="GDPR Art. 34(1)",
                deadline="without undue delay",
                who="every customer whose data is affected, in clear and plain language",
                why=(
                    f"A breach would likely be a high risk to people: {because}. Only data "
                    "made unintelligible (strong encryption, keys safe) is exempt "
                    "(Art. 34(3)(a))."
                ),
                fingerprints=tuple(fp for h in serious for fp in h.fingerprints),
                reference=GDPR_URL,
            )
        )
    cards = [h for h in hosts if CARD in h.categories]
    if cards:
        duties.append(
            Duty(
                kind=DutyKind.PCI_DSS,
                title="Start the card-data incident response",
                basis="PCI DSS v4.0 Req. 12.10.1 and 3.5",
                deadline="immediately on suspicion of a compromise, as your acquirer "
                "agreement and the card brands' rules require",
                who="your acquiring bank and the payment card brands; a PCI Forensic "
                "Investigator if they ask for one",
                why=(
                    "Card numbers are held on exposed hosts ("
                    + _list(h.host for h in cards)
                    + "). Req. 12.10.1 asks for an incident response plan that is started at "
                    "once on a suspected compromise; Req. 3.5 that stored card numbers be "
                    "unreadable. Card brands can fine the merchant and reissue the cards at "
                    "its cost."
                ),
                fingerprints=tuple(fp for h in cards for fp in h.fingerprints),
                reference=PCI_URL,
            )
        )
    return duties


# What the cost multiplies, in words that keep customers and records apart.
CUSTOMERS_COUNTED = "customers at risk (the inventory's segments), one record each"
RECORDS_COUNTED = "customer records at risk (no inventory segment counts the customers)"
# The default figure's source, short, for a line of text.
DEFAULT_SOURCE_SHORT = "IBM/Ponemon 2024"
_SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}
_LARGE = ((1e9, "billion"), (1e6, "million"))


def amount_text(value: float, currency: str, digits: int = 0) -> str:
    """`$173`, `\u20ac1,250.50`, `1,000 CHF`: a sum of money as written."""
    symbol = _SYMBOLS.get(currency.upper())
    amount = f"{value:,.{digits}f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def two_figures(value: float) -> float:
    """The value rounded to two significant figures (28,545,000 -> 29,000,000):
    an estimate's honest precision."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    return float(round(value, 1 - math.floor(math.log10(value))))


def cost_about(cost: CostEstimate) -> str:
    """The estimate as a person says it: `about $29 million`, `about $5,200`."""
    value = two_figures(cost.total)
    for size, word in _LARGE:
        if value >= size:
            figure = f"{value / size:,.1f}".removesuffix(".0")
            symbol = _SYMBOLS.get(cost.currency.upper())
            if symbol:
                return f"about {symbol}{figure} {word}"
            return f"about {figure} {word} {cost.currency}"
    return f"about {amount_text(value, cost.currency)}"


def per_record_text(cost: CostEstimate) -> str:
    """The per-record figure, to the cent only when it has cents: `$173`."""
    return amount_text(cost.per_record, cost.currency, 2).removesuffix(".00")


def short_source(cost: CostEstimate) -> str:
    """Where the per-record figure comes from, in a few words."""
    if cost.source.startswith(DEFAULT_COST.source):
        return DEFAULT_SOURCE_SHORT
    return cost.source


def cost_basis_text(cost: CostEstimate) -> str:
    """What the estimate multiplies: `165,000 customers x $173 per record, IBM/Ponemon 2024`."""
    # A result of an earlier version says "customers at risk (inventory segments)".
    what = "customers" if cost.counted.startswith("customers") else "customer records"
    bound = "; an upper bound above a million" if "upper bound" in cost.source else ""
    return (
        f"{cost.records:,} {what} \u00d7 {per_record_text(cost)} per record, "
        f"{short_source(cost)}{bound}"
    )


def _cost(customers: int | None, records: int, basis: CostBasis) -> CostEstimate | None:
    counted, what = (
        (customers, CUSTOMERS_COUNTED) if customers is not None else (records, RECORDS_COUNTED)
    )
    if not counted:
        return None
    source = basis.source
    if counted > MEGA_BREACH_RECORDS and basis == DEFAULT_COST:
        source += (
            "; that report leaves out breaches of over a million records, which cost "
            "less per record, so this estimate is an upper bound"
        )
    return CostEstimate(
        records=counted,
        counted=what,
        per_record=basis.per_record,
        currency=basis.currency,
        source=source,
        total=round(counted * basis.per_record, 2),
    )


def customer_trust(
    result: ScanResult,
    inventory: Inventory | None = None,
    cost: CostBasis = DEFAULT_COST,
    counts: Iterable[RecordCount] | None = None,
) -> CustomerTrust:
    """The customer-trust summary of a result (see the module docstring);
    `counts` are its record counts, made here when not given."""
    keyed = counts_by_key(record_counts(result, inventory) if counts is None else counts)
    hosts = _exposed_hosts(result, inventory, keyed)
    if not hosts:
        return CustomerTrust(exposing_severity=EXPOSING)
    segments = _segments(hosts)
    categories = _categories(hosts, segments)
    records = sum(h.records for h in hosts)
    customers = sum(s.customers for s in segments) if segments else None
    every = tuple(c.category for c in categories)
    notices = tuple(draft_notice(s.name, s.customers, s.categories, every) for s in segments) or (
        draft_notice_for_everyone(every),
    )
    return CustomerTrust(
        records_at_risk=records,
        customers_at_risk=customers,
        categories=tuple(categories),
        hosts=tuple(_host_rows(hosts)),
        segments=tuple(segments),
        duties=tuple(_duties(hosts, customers, records)),
        cost=_cost(customers, records, cost),
        notices=notices,
        exposing_severity=EXPOSING,
    )
