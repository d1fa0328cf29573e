"""The customer-trust summary: data, customers, duties, cost and notices."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.assessment.inventory import Inventory, load_inventory
from scanner.assessment.risk import assess
from scanner.assessment.trust import (
    CUSTOMERS_COUNTED,
    DEFAULT_COST,
    PSN_2011,
    RECORDS_COUNTED,
    CostBasis,
    customer_trust,
    ordered,
)
from scanner.model import DutyKind, Finding, Severity
from tests.factories import make_finding, make_host, make_observation, make_result
from tests.support import FIXTURES

SHOP = FIXTURES / "inventory" / "shop.yaml"
STORED = "customers with a stored payment card"
EXPIRED = "customers with an expired card on file"
NO_CARD = "customers with no card on file"
SUBSCRIBERS = "newsletter subscribers"


@pytest.fixture(scope="module")
def shop() -> Inventory:
    return load_inventory(SHOP)


def _finding(host: str, port: int, severity: Severity = Severity.MEDIUM) -> Finding:
    return make_finding(host=host, port=port, rule_id=f"rule-{port}", severity=severity)


def test_nothing_is_at_risk_without_a_finding_of_medium_or_more(shop: Inventory) -> None:
    result = make_result(
        hosts=(make_host(address="127.0.0.20"),),
        findings=(
            _finding("127.0.0.20", 22, Severity.LOW),
            _finding("127.0.0.20", 80, Severity.INFO),
        ),
    )
    trust = customer_trust(result, shop)
    assert trust.categories == ()
    assert trust.duties == ()
    assert trust.cost is None
    assert trust.notices == ()
    assert trust.records_at_risk == 0


def test_one_exposed_system_puts_its_segments_at_risk(shop: Inventory) -> None:
    finding = _finding("127.0.0.20", 5432)
    trust = customer_trust(make_result(findings=(finding,)), shop)

    assert trust.records_at_risk == 100_000
    assert trust.customers_at_risk == 100_000  # 30,000 + 20,000 + 50,000
    by_category = {c.category: c for c in trust.categories}
    assert list(by_category) == ["email", "address", "name", "card-number", "password"]
    card = by_category["card-number"]
    assert card.records == 100_000  # the inventory's count for the system
    assert card.customers == 50_000  # only the two segments with a card on file
    assert card.segments == (STORED, EXPIRED)
    assert card.fingerprints == (finding.fingerprint,)
    assert card.sources == (f"inventory {SHOP}:5",)
    assert by_category["email"].segments == (NO_CARD, STORED, EXPIRED)
    assert [(s.name, s.customers) for s in trust.segments] == [
        (NO_CARD, 50_000),
        (STORED, 30_000),
        (EXPIRED, 20_000),
    ]


def test_a_segment_on_two_systems_counts_once_at_its_largest(shop: Inventory) -> None:
    result = make_result(findings=(_finding("127.0.0.20", 5432), _finding("127.0.0.21", 6379)))
    trust = customer_trust(result, shop)
    segments = {s.name: s for s in trust.segments}
    assert segments[NO_CARD].customers == 50_000  # 50,000 on shop-db, 45,000 on newsletter
    assert segments[NO_CARD].hosts == ("127.0.0.20", "127.0.0.21")
    assert segments[SUBSCRIBERS].categories == ("email",)
    assert trust.customers_at_risk == 50_000 + 30_000 + 20_000 + 30_000
    # Records add up: each system's copy leaks.
    assert trust.records_at_risk == 180_000
    email = next(c for c in trust.categories if c.category == "email")
    assert (email.records, email.hosts) == (180_000, ("127.0.0.20", "127.0.0.21"))


def test_each_exposed_host_says_what_it_holds(shop: Inventory) -> None:
    card = _finding("127.0.0.20", 5432, Severity.CRITICAL)
    trust = customer_trust(
        make_result(findings=(card, _finding("127.0.0.21", 80), _finding("127.0.0.20", 22))),
        shop,
    )
    first, second = trust.hosts
    assert (first.host, first.system, first.owner, first.records) == (
        "127.0.0.20",
        "shop-db",
        "dba@example.test",
        100_000,
    )
    assert first.categories == ("email", "address", "name", "card-number", "password")
    assert first.segments == (STORED, EXPIRED, NO_CARD)
    assert first.worst is Severity.CRITICAL
    assert len(first.fingerprints) == 2
    assert first.sources == (f"inventory {SHOP}:5",)
    assert (second.host, second.records, second.categories) == ("127.0.0.21", 80_000, ("email",))


def test_a_host_without_customer_data_adds_nothing(shop: Inventory) -> None:
    build = _finding("127.0.0.22", 22, Severity.CRITICAL)
    trust = customer_trust(make_result(findings=(build, _finding("127.0.0.21", 80))), shop)
    assert all(build.fingerprint not in d.fingerprints for d in trust.duties)
    assert [c.category for c in trust.categories] == ["email"]


def test_the_duties_and_what_triggers_each(shop: Inventory) -> None:
    card_host = _finding("127.0.0.20", 443)
    newsletter = _finding("127.0.0.21", 80)
    trust = customer_trust(make_result(findings=(card_host, newsletter)), shop)
    duties = {d.kind: d for d in trust.duties}
    assert list(duties) == [DutyKind.GDPR_ART_33, DutyKind.GDPR_ART_34, DutyKind.PCI_DSS]

    art33 = duties[DutyKind.GDPR_ART_33]
    assert "72 hours" in art33.deadline
    assert art33.fingerprints == (card_host.fingerprint, newsletter.fingerprint)
    assert "130,000 customers" in art33.why
    # Art. 34: card numbers and passwords are a high risk; the newsletter's
    # emails behind a medium finding are not, on their own.
    art34 = duties[DutyKind.GDPR_ART_34]
    assert art34.fingerprints == (card_host.fingerprint,)
    assert "payment card number" in art34.why
    assert "account password" in art34.why
    pci = duties[DutyKind.PCI_DSS]
    assert pci.fingerprints == (card_host.fingerprint,)
    assert "12.10" in pci.basis


def test_contact_data_behind_a_high_finding_needs_telling_people(shop: Inventory) -> None:
    medium = customer_trust(make_result(findings=(_finding("127.0.0.21", 80),)), shop)
    assert [d.kind for d in medium.duties] == [DutyKind.GDPR_ART_33]
    high = customer_trust(make_result(findings=(_finding("127.0.0.21", 80, Severity.HIGH),)), shop)
    assert [d.kind for d in high.duties] == [DutyKind.GDPR_ART_33, DutyKind.GDPR_ART_34]
    assert "high or critical findings" in high.duties[1].why


def test_the_cost_counts_customers_at_the_stated_figure(shop: Inventory) -> None:
    result = make_result(findings=(_finding("127.0.0.20", 5432),))
    cost = customer_trust(result, shop).cost
    assert cost is not None
    assert (cost.records, cost.per_record, cost.currency) == (100_000, 173.0, "USD")
    assert cost.total == 17_300_000.0
    assert "Cost of a Data Breach Report 2024" in cost.source
    assert cost.counted == CUSTOMERS_COUNTED

    ours = CostBasis(per_record=95.5, currency="EUR", source="our insurer's 2026 schedule")
    custom = customer_trust(result, shop, ours).cost
    assert custom is not None
    assert (custom.total, custom.currency, custom.source) == (
        9_550_000.0,
        "EUR",
        "our insurer's 2026 schedule",
    )


def test_a_mega_breach_says_the_default_figure_overstates() -> None:
    inventory = Inventory(
        "big.yaml",
        (
            replace(
                load_inventory(SHOP).assets[1],
                customer_records=77_000_000,
                segments=(),
            ),
        ),
    )
    cost = customer_trust(make_result(findings=(_finding("127.0.0.21", 80),)), inventory).cost
    assert cost is not None
    assert cost.counted == RECORDS_COUNTED
    assert cost.records == PSN_2011.accounts
    assert "upper bound" in cost.source
    ours = customer_trust(
        make_result(findings=(_finding("127.0.0.21", 80),)), inventory, CostBasis(10, "USD", "x")
    ).cost
    assert ours is not None
    assert ours.source == "x"


def test_without_inventory_the_probes_counts_are_the_records() -> None:
    store = _finding("127.0.0.30", 6379, Severity.CRITICAL)
    observations = (
        make_observation(host="127.0.0.30", port=6379, key="store.pii.email", value="250"),
        make_observation(host="127.0.0.30", port=6379, key="store.pii.card-number", value="40"),
        make_observation(host="127.0.0.30", port=6379, key="store.records", value="890"),
    )
    trust = customer_trust(make_result(findings=(store,), observations=observations))
    assert [(c.category, c.records, c.customers) for c in trust.categories] == [
        ("email", 250, None),
        ("card-number", 40, None),
    ]
    assert trust.categories[0].sources == ("observed on 127.0.0.30:6379",)
    assert trust.records_at_risk == 250  # one record a customer, not one a field
    assert trust.customers_at_risk is None
    assert trust.cost is not None
    assert trust.cost.counted == RECORDS_COUNTED
    assert trust.cost.total == 250 * DEFAULT_COST.per_record
    (notice,) = trust.notices
    assert notice.segment == "all customers whose data the exposed systems hold"
    assert notice.customers is None


def test_a_dump_on_a_web_server_is_customer_data() -> None:
    site = _finding("127.0.0.31", 80, Severity.CRITICAL)
    observations = (
        make_observation(host="127.0.0.31", key="http.dump", value="email, phone"),
        make_observation(host="127.0.0.31", key="http.dump_records", value="250"),
    )
    trust = customer_trust(make_result(findings=(site,), observations=observations))
    assert [(c.category, c.records) for c in trust.categories] == [("email", 250), ("phone", 250)]
    assert trust.categories[0].sources == ("observed in a dump on 127.0.0.31:80",)


def test_each_affected_segment_gets_its_own_draft_notice(shop: Inventory) -> None:
    trust = customer_trust(make_result(findings=(_finding("127.0.0.20", 5432),)), shop)
    notices = {n.segment: n for n in trust.notices}
    assert list(notices) == [NO_CARD, STORED, EXPIRED]
    assert "payment card" in notices[STORED].subject
    assert "payment card" in notices[EXPIRED].subject  # an expired card is still a card number
    assert "payment card" not in notices[NO_CARD].subject
    assert any("not held" in a for a in notices[NO_CARD].advice)
    assert notices[NO_CARD].customers == 50_000


def test_the_assessment_carries_the_trust_summary_and_the_cost_basis(shop: Inventory) -> None:
    result = make_result(findings=(_finding("127.0.0.20", 5432),))
    ours = CostBasis(1.0, "USD", "one dollar")
    assessment = assess(result, shop, ours)
    assert assessment.trust == customer_trust(result, shop, ours)
    assert assessment.plan[0].system == "shop-db"


def test_categories_have_one_order() -> None:
    assert ordered(["password", "email", "zodiac", "card-number", "email"]) == (
        "email",
        "card-number",
        "password",
        "zodiac",
    )


def test_the_reference_case_is_the_psn_breach() -> None:
    assert (PSN_2011.accounts, PSN_2011.cost, PSN_2011.days_to_tell) == (
        77_000_000,
        171_000_000.0,
        7,
    )
