"""One report shape for every data store, and the observations rules match."""

from __future__ import annotations

from scanner.probes.datastores.report import (
    Auth,
    Container,
    StoreReport,
    Tristate,
    observations,
)
from scanner.probes.personal_data import FieldReport

CUSTOMERS = Container(
    "shop.public.customers",
    "table",
    250,
    (
        FieldReport("email", "email", (("email", 20),), (), 20, ("j***@example.com",)),
        FieldReport("phone", "phone", sampled=20),
        FieldReport(
            "password", "password", (("password", 20),), (("plaintext", 20),), 20, ("********",)
        ),
        FieldReport(
            "card_number",
            "card-number",
            (("card-number", 20),),
            (),
            20,
            ("**** **** **** 1111",),
        ),
    ),
)
ORDERS = Container("shop.public.orders", "table", 600, (FieldReport("total"),))


def _facts(report: StoreReport) -> dict[str, tuple[str, str]]:
    return {o.key: (o.value, o.evidence) for o in observations(report, "127.0.0.5", 5432)}


def test_open_store_with_customers() -> None:
    report = StoreReport(
        "postgresql",
        Auth.NONE,
        "logged in as postgres without a password (trust authentication)",
        Tristate.NO,
        Tristate.YES,
        "no TLS",
        identity="postgres",
        containers=(CUSTOMERS, ORDERS),
        inspected=True,
    )
    facts = _facts(report)
    assert facts["store.auth"] == ("none", report.auth_evidence)
    assert facts["store.records"][0] == "850"
    assert facts["store.pii.email"] == (
        "250",
        "email in shop.public.customers (~250 records); masked samples: j***@example.com",
    )
    # Email and phone in one table are one set of records.
    assert facts["store.contact_data"][0] == "250"
    assert facts["store.password_storage"] == ("plaintext", "sampled passwords: 20 plaintext")
    assert facts["store.card_numbers_plaintext"][0] == "20"
    personal = facts["store.personal_data"]
    assert personal[0] == "yes"
    assert personal[1].startswith("read as postgres: 2 container(s); personal data in table ")
    assert "orders" not in personal[1]


def test_closed_store_says_only_what_it_could_tell() -> None:
    report = StoreReport(
        "redis", Auth.REQUIRED, "no login worked: NOAUTH", Tristate.NO, Tristate.YES
    )
    facts = _facts(report)
    assert set(facts) == {"store.auth", "store.tls_offered", "store.plaintext_allowed"}
    assert facts["store.auth"][0] == "required"


def test_open_store_without_personal_data() -> None:
    report = StoreReport("memcached", Auth.NONE, "version answered", containers=(ORDERS,))
    facts = _facts(report)
    assert facts["store.personal_data"][0] == "no"
    assert not any(key.startswith("store.pii.") for key in facts)
    assert "store.contact_data" not in facts


def test_a_refused_cleartext_request_is_a_fact_of_its_own() -> None:
    asked = "the server asked for the password in cleartext (x) over an unencrypted connection"
    report = StoreReport("mysql", Auth.REQUIRED, "no login worked", cleartext_asked=asked)
    assert _facts(report)["store.cleartext_password_requested"] == ("yes", asked)
    assert "store.cleartext_password_requested" not in _facts(
        StoreReport("mysql", Auth.REQUIRED, "no login worked")
    )
