"""One copy of each equal value among one evaluation's findings: the table
itself, and `evaluate` on hosts alike, whose findings then share their texts,
evidence, notes and CVE lists, each judged once per package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

import pytest

from scanner.banners.products import ProductVersion
from scanner.cli.options import with_builtin_rules
from scanner.model import BackportVerdict, Finding, Host, Service, Severity, Vulnerability
from scanner.rule_engine import rules as rules_module
from scanner.rule_engine.advisories import AdvisoryData
from scanner.rule_engine.backports import Judgement, judge
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import Rule, evaluate
from scanner.rule_engine.sharing import Shared
from tests.factories import make_host


@lru_cache(maxsize=1)
def _rules() -> tuple[Rule, ...]:
    return tuple(load_rules(with_builtin_rules(())))


def _host(address: str) -> Host:
    """A Debian box as the large-scan benchmark makes them (`bench.nmap_xml_parse`)."""
    return make_host(
        address=address,
        services=(
            Service(
                22,
                "tcp",
                "open",
                name="ssh",
                product="OpenSSH",
                version="9.2p1 Debian 2+deb12u3",
                extrainfo="protocol 2.0",
            ),
            Service(
                80,
                "tcp",
                "open",
                name="http",
                product="Apache httpd",
                version="2.4.62",
                extrainfo="(Debian)",
            ),
            Service(443, "tcp", "open", name="https", product="nginx", version="1.22.1"),
        ),
    )


def _vulnerability() -> Vulnerability:
    return Vulnerability("CVE-2024-38476", Severity.CRITICAL, 9.8, references=("https://x.test",))


def _on(findings: tuple[Finding, ...], host: str) -> list[Finding]:
    return sorted((f for f in findings if f.host == host), key=lambda f: (f.port or 0, f.rule_id))


def test_equal_strings_and_tuples_are_one_copy() -> None:
    share = Shared()
    first = share.strings(("nmap: 22/tcp ssh", "version: 9.2"))
    again = share.strings(("nmap: 22/tcp " + "ssh", "version: " + "9.2"))
    longer = share.strings(("nmap: 22/tcp " + "ssh", "more"))

    assert again is first
    assert longer[0] is first[0]
    assert share("".join(["a", "b"])) is share("ab")


def test_tuples_of_the_same_items_are_one_copy_and_equal_items_are_not_looked_into() -> None:
    share = Shared()
    vuln = _vulnerability()
    twin = replace(vuln)

    assert share.items((vuln, vuln)) is share.items((vuln, vuln))
    assert share.items((twin, vuln)) is not share.items((vuln, vuln))
    assert share.items(()) == ()


def test_a_verdict_on_a_vulnerability_is_made_once() -> None:
    share = Shared()
    vuln = _vulnerability()
    judgement = Judgement(BackportVerdict.UNDECIDED, "no package revision")

    judged = share.judged(vuln, judgement)

    assert judged == replace(
        vuln, backport=BackportVerdict.UNDECIDED, backport_evidence="no package revision"
    )
    assert share.judged(vuln, judgement) is judged
    assert share.judged(vuln, replace(judgement)) is not judged  # another verdict's copy


def test_computed_once_per_key() -> None:
    share = Shared()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert share.computed(("judge", 1), compute) == 1
    assert share.computed(("judge", 1), compute) == 1
    assert share.computed(("judge", 2), compute) == 2
    assert len(calls) == 2


def test_hosts_alike_share_their_findings_texts() -> None:
    found = evaluate((_host("10.0.0.1"), _host("10.0.0.2")), (), _rules())

    one, other = _on(found, "10.0.0.1"), _on(found, "10.0.0.2")
    assert len(one) == len(other) >= 3
    assert any(f.vulnerabilities for f in one)
    for mine, theirs in zip(one, other, strict=True):
        assert mine == replace(theirs, host=mine.host, fingerprint=mine.fingerprint)
        assert mine.fingerprint != theirs.fingerprint
        assert mine.title is theirs.title
        assert mine.evidence is theirs.evidence
        assert mine.notes is theirs.notes
        assert mine.description is theirs.description
        assert mine.remediation is theirs.remediation
        assert mine.vulnerabilities is theirs.vulnerabilities


def test_a_package_is_judged_once_however_many_hosts_run_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judged: list[str] = []

    def counting(
        product: ProductVersion, cves: Sequence[str], data: AdvisoryData, extrainfo: str = ""
    ) -> dict[str, Judgement]:
        judged.append(str(product))
        return judge(product, cves, data, extrainfo)

    monkeypatch.setattr(rules_module, "judge", counting)
    hosts = tuple(_host(f"10.0.0.{n}") for n in range(1, 6))

    found = evaluate(hosts, (), _rules())

    grouped = [f for f in found if f.vulnerabilities]
    assert len(grouped) >= len(hosts)
    assert 1 <= len(judged) == len(set(judged)) < len(hosts)
    assert all(v.backport is not None for f in grouped for v in f.vulnerabilities)
