"""One copy of each equal value among the findings of one evaluation.

Hosts with the same banner get findings with the same texts: titles,
descriptions, remediations, evidence and notes, the same CVE list with the
same distribution verdicts. Made afresh for each finding, those copies are
most of a large scan's memory (a 100,000-host scan has 600,000 findings and
a few hundred distinct texts). `Shared` hands out the first of each equal
value again; they are immutable, so sharing them changes nothing a reader
can see.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import TypeVar

from scanner.model import Vulnerability
from scanner.rule_engine.backports import Judgement

H = TypeVar("H", bound=Hashable)
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
V = TypeVar("V")


class Shared:
    """The values of one evaluation, each kept once. It lives as long as the
    evaluation: what it shares stays only in the findings."""

    def __init__(self) -> None:
        self._values: dict[object, object] = {}
        # By the ids of what they are made of, kept beside them so that no
        # id is reused while the entry stands.
        self._by_ids: dict[tuple[int, ...], tuple[object, ...]] = {}
        self._judged: dict[tuple[int, int], tuple[Vulnerability, Judgement, Vulnerability]] = {}
        self._computed: dict[object, object] = {}

    def __call__(self, value: H) -> H:
        """The first value equal to `value` (a string, or a tuple of strings)."""
        return self._values.setdefault(value, value)  # type: ignore[return-value]

    def strings(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """The tuple shared, and each of its strings, which other tuples repeat."""
        known = self._values.get(values)
        if known is not None:
            return known  # type: ignore[return-value]
        return self(tuple(self(v) for v in values))

    def items(self, values: tuple[T, ...]) -> tuple[T, ...]:
        """The tuple shared, by the identity of its items (themselves shared):
        hashing a tuple of dataclasses field by field costs more than it saves."""
        if not values:
            return ()
        key = tuple(map(id, values))
        known = self._by_ids.setdefault(key, values)
        return known  # type: ignore[return-value]

    def judged(self, vuln: Vulnerability, judgement: Judgement) -> Vulnerability:
        """`vuln` with the distribution's verdict on it, one copy per pair: the
        same rule judged the same way on every host with the same package."""
        key = (id(vuln), id(judgement))
        made = self._judged.get(key)
        if made is None:
            copy = replace(vuln, backport=judgement.verdict, backport_evidence=judgement.evidence)
            made = self._judged[key] = (vuln, judgement, copy)
        return made[2]

    def computed(self, key: K, compute: Callable[[], V]) -> V:
        """`compute()`, once per equal `key`: for what depends on the key alone
        (the distribution's verdicts on one package's CVEs)."""
        if key not in self._computed:
            self._computed[key] = compute()
        return self._computed[key]  # type: ignore[return-value]
