"""`assessed` keys findings by host identity: the inventory's system name when
it names one host, else the address; then scores, plans and counts by it."""

from __future__ import annotations

from dataclasses import replace

from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.risk import assessed, host_identities
from scanner.model import Finding, ScanResult, Severity
from scanner.rule_engine.findings import fingerprint, system_identity
from tests.factories import make_finding, make_host, make_result


def _inventory(*assets: Asset) -> Inventory:
    return Inventory("assets.yaml", assets)


def _result(*hosts: tuple[str, tuple[str, ...]]) -> ScanResult:
    return make_result(
        hosts=tuple(make_host(address=a, hostnames=names) for a, names in hosts),
        findings=tuple(
            make_finding(host=a, subject="apache-httpd", severity=Severity.HIGH) for a, _ in hosts
        ),
        probe_errors=(),
    )


def _keyed(finding: Finding, identity: str) -> str:
    return fingerprint(finding.rule_id, identity, finding.protocol, finding.port, finding.subject)


def test_a_host_the_inventory_names_is_keyed_by_its_system() -> None:
    result = _result(("10.0.0.5", ()))
    done = assessed(result, _inventory(Asset("shop-web", address="10.0.0.5")))
    (finding,) = done.findings
    assert finding.host == "10.0.0.5"
    assert finding.fingerprint == _keyed(finding, system_identity("shop-web"))
    assert finding.fingerprint != result.findings[0].fingerprint
    # Risk, plan and trust are keyed by the new fingerprint.
    assert done.assessment is not None
    assert [r.fingerprint for r in done.assessment.findings] == [finding.fingerprint]
    assert done.assessment.plan[0].fingerprints == (finding.fingerprint,)


def test_a_system_keeps_its_fingerprints_when_its_address_changes() -> None:
    before = assessed(
        _result(("10.0.0.5", ("shop.example.test",))),
        _inventory(Asset("shop-web", hostname="shop.example.test")),
    )
    after = assessed(
        _result(("10.0.0.9", ("shop.example.test",))),
        _inventory(Asset("shop-web", hostname="shop.example.test")),
    )
    assert before.findings[0].host != after.findings[0].host
    assert before.findings[0].fingerprint == after.findings[0].fingerprint


def test_without_inventory_or_unnamed_the_address_is_the_identity() -> None:
    result = _result(("10.0.0.5", ()))
    plain = result.findings[0].fingerprint
    assert plain == _keyed(result.findings[0], "10.0.0.5")
    assert assessed(result).findings[0].fingerprint == plain
    other = _inventory(Asset("elsewhere", address="10.9.9.9"))
    assert assessed(result, other).findings[0].fingerprint == plain


def test_an_asset_that_stands_for_several_hosts_keys_by_address() -> None:
    result = _result(("10.0.0.5", ("web1.example.test",)), ("10.0.0.6", ("web2.example.test",)))
    for asset in (
        Asset("web-farm", cidr="10.0.0.0/24"),
        Asset("web-farm", hostname="web*.example.test"),
    ):
        done = assessed(result, _inventory(asset))
        assert [f.fingerprint for f in done.findings] == [f.fingerprint for f in result.findings]
        assert len({f.fingerprint for f in done.findings}) == 2
    # One host is one host, even when written as a network.
    single = assessed(result, _inventory(Asset("web1", cidr="10.0.0.5/32")))
    assert single.findings[0].fingerprint == _keyed(single.findings[0], system_identity("web1"))


def test_a_system_name_two_assets_share_is_no_identity() -> None:
    result = _result(("10.0.0.5", ()), ("10.0.0.6", ()))
    inventory = _inventory(
        Asset("billing", address="10.0.0.5"), Asset("billing", address="10.0.0.6")
    )
    assert host_identities(result, inventory) == {}
    done = assessed(result, inventory)
    assert [f.fingerprint for f in done.findings] == [f.fingerprint for f in result.findings]


def test_two_hosts_answering_to_one_literal_name_keep_their_addresses() -> None:
    result = _result(("10.0.0.5", ("db.example.test",)), ("10.0.0.6", ("db.example.test",)))
    inventory = _inventory(Asset("db", hostname="db.example.test"))
    assert host_identities(result, inventory) == {}
    assert len({f.fingerprint for f in assessed(result, inventory).findings}) == 2
    # Alone, the same host is its system.
    alone = _result(("10.0.0.5", ("db.example.test",)))
    assert host_identities(alone, inventory) == {"10.0.0.5": system_identity("db")}


def test_assessing_again_with_another_inventory_keys_afresh() -> None:
    result = _result(("10.0.0.5", ()))
    first = assessed(result, _inventory(Asset("old-name", address="10.0.0.5")))
    second = assessed(first, _inventory(Asset("new-name", address="10.0.0.5")))
    back = assessed(second, _inventory(Asset("elsewhere", address="10.9.9.9")))
    assert second.findings[0].fingerprint == _keyed(second.findings[0], system_identity("new-name"))
    assert back.findings[0].fingerprint == result.findings[0].fingerprint
    # The same inventory twice: the same keys.
    assert assessed(first, _inventory(Asset("old-name", address="10.0.0.5"))) == first


def test_rekeying_keeps_every_other_field() -> None:
    result = _result(("10.0.0.5", ()))
    done = assessed(result, _inventory(Asset("shop-web", address="10.0.0.5")))
    (before,), (after,) = result.findings, done.findings
    assert replace(after, fingerprint="x") == replace(before, fingerprint="x")
