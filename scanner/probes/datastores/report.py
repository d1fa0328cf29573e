"""What a data-store probe found, in one shape for every store, and the
observations it becomes.

Each store probe (postgres, mysql, redis, memcached, mongodb, elasticsearch)
fills a `StoreReport`; `observations()` turns it into the facts that
`rules/datastores.yaml` judges, so one rule covers every store. Nothing in a
report is a raw value from the store: field reports hold counts, categories
and masked examples only (`scanner.probes.personal_data` masks them before they get here).
No password is scrubbed here: the probe runner blanks every password a probe
may have sent out of all it returns (`scanner.probes.run_probes`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import Enum

from scanner.model import Observation
from scanner.probes.personal_data import FieldReport


class Auth(str, Enum):
    NONE = "none"  # let in without any credential
    DEFAULT_CREDENTIALS = "default-credentials"  # a vendor default worked
    SUPPLIED_CREDENTIALS = "supplied-credentials"  # the user's credentials file
    REQUIRED = "required"  # asked for credentials; none we had worked
    UNKNOWN = "unknown"  # could not tell (connection failed, unexpected reply)


class Tristate(str, Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Container:
    """A table, collection, index or key pattern, with its estimated record count
    from the store's own statistics (None when the store keeps none)."""

    name: str
    kind: str  # table | collection | index | key-pattern
    records: int | None
    fields: tuple[FieldReport, ...] = ()

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for f in self.fields for c in f.categories))


@dataclass(frozen=True)
class StoreReport:
    store: str  # postgresql | mysql | redis | memcached | mongodb | elasticsearch
    auth: Auth
    auth_evidence: str
    tls_offered: Tristate = Tristate.UNKNOWN
    plaintext_allowed: Tristate = Tristate.UNKNOWN
    tls_evidence: str = ""
    # Who we were when reading (a user name, never a password), or "".
    identity: str = ""
    containers: tuple[Container, ...] = ()
    inspected: bool = False  # values were sampled (--inspect-data)
    # Parts that could not be read, one line each (permission denied on a table).
    gaps: tuple[str, ...] = field(default_factory=tuple)
    # The server asked for a password in cleartext over an unencrypted
    # connection, and was refused: what it asked, or "".
    cleartext_asked: str = ""

    @property
    def readable(self) -> bool:
        return self.auth in (Auth.NONE, Auth.DEFAULT_CREDENTIALS, Auth.SUPPLIED_CREDENTIALS)

    def with_inventory(
        self,
        identity: str,
        containers: Iterable[Container],
        gaps: Iterable[str],
        inspected: bool,
    ) -> StoreReport:
        """This report completed with what a logged-in session read."""
        return replace(
            self,
            identity=identity,
            containers=tuple(containers),
            inspected=inspected,
            gaps=tuple(gaps),
        )


# Contact data: what GDPR breach notification turns on for ordinary customer data.
CONTACT = frozenset({"email", "phone", "address", "name", "birth-date"})
_MAX_LISTED = 12
PROBE = "datastore"


def _records(containers: Iterable[Container]) -> int:
    return sum(c.records or 0 for c in containers)


def _shown(count: int | None) -> str:
    return "unknown" if count is None else f"~{count:,}"


def _container_line(container: Container) -> str:
    fields = ", ".join(
        f"{f.name} ({'/'.join(f.categories)})" for f in container.fields if f.categories
    )
    return f"{container.kind} {container.name}: {_shown(container.records)} records; {fields}"


def _password_forms(report: StoreReport) -> dict[str, int]:
    forms: dict[str, int] = {}
    for container in report.containers:
        for item in container.fields:
            if "password" not in item.categories:
                continue
            for form, count in item.forms:
                forms[form] = forms.get(form, 0) + count
    return forms


def _card_forms(report: StoreReport) -> int:
    """Sampled values that are valid card numbers in the clear."""
    return sum(
        count
        for container in report.containers
        for item in container.fields
        for category, count in item.detected
        if category == "card-number"
    )


_MAX_EXAMPLES = 3


def _examples(containers: Iterable[Container], category: str) -> list[str]:
    """Masked samples (never raw: scanner.probes.personal_data masked them) of one category."""
    found: list[str] = []
    for container in containers:
        for item in container.fields:
            if category in item.categories:
                found.extend(e for e in item.masked_examples if e not in found)
    return found[:_MAX_EXAMPLES]


def observations(report: StoreReport, host: str, port: int) -> tuple[Observation, ...]:
    """The facts rules/datastores.yaml matches, with evidence a reader can follow."""
    facts: list[tuple[str, str, str]] = [
        ("store.auth", report.auth.value, report.auth_evidence),
        ("store.tls_offered", report.tls_offered.value, report.tls_evidence),
        ("store.plaintext_allowed", report.plaintext_allowed.value, report.tls_evidence),
    ]
    if report.cleartext_asked:
        facts.append(("store.cleartext_password_requested", "yes", report.cleartext_asked))
    if report.readable:
        by_category: dict[str, list[Container]] = {}
        for container in report.containers:
            for category in container.categories:
                by_category.setdefault(category, []).append(container)
        with_pii = [c for c in report.containers if c.categories]
        listed = "; ".join(_container_line(c) for c in with_pii[:_MAX_LISTED])
        more = f"; and {len(with_pii) - _MAX_LISTED} more" if len(with_pii) > _MAX_LISTED else ""
        who = f" as {report.identity}" if report.identity else ""
        facts.append(
            (
                "store.personal_data",
                "yes" if by_category else "no",
                f"read{who}: {len(report.containers)} container(s)"
                + (f"; personal data in {listed}{more}" if listed else "; no personal data found"),
            )
        )
        facts.append(("store.records", str(_records(report.containers)), ""))
        for category, containers in sorted(by_category.items()):
            names = ", ".join(c.name for c in containers[:_MAX_LISTED])
            examples = _examples(containers, category)
            shown = f"; masked samples: {', '.join(examples)}" if examples else ""
            facts.append(
                (
                    f"store.pii.{category}",
                    str(_records(containers)),
                    f"{category} in {names} ({_shown(_records(containers))} records){shown}",
                )
            )
        if CONTACT & by_category.keys():
            facts.append(
                (
                    "store.contact_data",
                    # A table with emails and phones holds one set of records, not two.
                    str(
                        _records(
                            {
                                c.name: c for cat in CONTACT for c in by_category.get(cat, [])
                            }.values()
                        )
                    ),
                    "contact data: " + ", ".join(sorted(CONTACT & by_category.keys())),
                )
            )
        forms = _password_forms(report)
        if forms:
            shown = ", ".join(f"{n} {form}" for form, n in sorted(forms.items()))
            worst = (
                "plaintext"
                if forms.get("plaintext")
                else ("unsalted-hash" if forms.get("unsalted-hash") else "hashed")
            )
            facts.append(("store.password_storage", worst, f"sampled passwords: {shown}"))
        cards = _card_forms(report)
        if cards:
            facts.append(
                (
                    "store.card_numbers_plaintext",
                    str(cards),
                    f"{cards} sampled value(s) are valid card numbers in the clear (Luhn)",
                )
            )
        for gap in report.gaps[:_MAX_LISTED]:
            facts.append(("store.gap", "unreadable", gap))
    return tuple(Observation(host, port, PROBE, key, value, ev) for key, value, ev in facts)
