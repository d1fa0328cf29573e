"""A host's distribution release, its support on the day of the scan, and an
upstream end of life that the release still patches."""

from __future__ import annotations

import datetime as dt

import pytest

from scanner.model import Host, Severity
from scanner.rule_engine.backports import builtin_shipped
from scanner.rule_engine.distributions import (
    SupportState,
    builtin_support,
    distribution_observations,
    host_release,
    support_sources,
)
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import Rule, evaluate
from scanner.support.resources import builtin_rules_dir
from tests.factories import make_host, make_service

SCAN_DAY = dt.date(2026, 12, 7)


@pytest.mark.parametrize(
    ("distro", "release", "day", "state"),
    [
        ("Debian", "12", dt.date(2026, 1, 1), SupportState.SUPPORTED),
        ("Debian", "12", SCAN_DAY, SupportState.EXTENDED),  # Debian LTS to 2028-06-10
        ("Debian", "12", dt.date(2028, 6, 11), SupportState.ENDED),
        ("Debian", "9", SCAN_DAY, SupportState.ENDED),
        ("Ubuntu", "22.04", SCAN_DAY, SupportState.SUPPORTED),
        ("Ubuntu", "18.04", SCAN_DAY, SupportState.SUBSCRIPTION_ONLY),  # ESM, with Ubuntu Pro
        ("Ubuntu", "16.04", SCAN_DAY, SupportState.ENDED),  # ESM ended 2026-04-02
    ],
)
def test_support_on_a_day_follows_the_release_dates(
    distro: str, release: str, day: dt.date, state: SupportState
) -> None:
    known = builtin_support().lookup(distro, release)
    assert known is not None
    assert known.state(day) is state


def _host(product: str, version: str, extrainfo: str = "", port: int = 22) -> Host:
    return make_host(
        services=(make_service(port=port, product=product, version=version, extrainfo=extrainfo),)
    )


def test_a_package_revision_names_the_release() -> None:
    found = host_release(_host("OpenSSH", "9.2p1 Debian 2+deb12u10"), builtin_shipped())
    assert found is not None
    assert (found.distribution, found.release) == ("Debian", "12")
    assert "2+deb12u10" in found.how


def test_a_version_one_release_ships_names_it_too() -> None:
    nginx = _host("nginx", "1.22.1", port=80)
    found = host_release(nginx, builtin_shipped())
    assert found is not None
    assert (found.distribution, found.release) == ("Debian", "12")
    assert "nginx 1.22.1 is the version Debian 12 ships" in found.how


def test_an_upstream_build_names_no_release() -> None:
    assert host_release(_host("nginx", "1.27.3", port=80), builtin_shipped()) is None


def test_observations_say_the_release_and_its_support_with_the_dates() -> None:
    stretch = _host("OpenSSH", "7.4p1 Debian 10+deb9u7")
    (release, support) = distribution_observations([stretch], SCAN_DAY)
    assert (release.key, release.value) == ("host.distribution", "Debian 9")
    assert (support.key, support.value) == ("host.distribution_support", "ended")
    assert "Debian LTS until 2022-07-01" in support.evidence
    assert support.evidence.endswith("on 2026-12-07: no security fixes")


@pytest.fixture(scope="module")
def rules() -> tuple[Rule, ...]:
    return load_rules([builtin_rules_dir()])


def _judged(host: Host, rules: tuple[Rule, ...]) -> dict[str, tuple[Severity, str]]:
    seen = distribution_observations([host], SCAN_DAY)
    found = evaluate([host], seen, rules)
    return {f.rule_id: (f.severity, f.title) for f in found}


def test_an_upstream_end_of_life_the_release_still_patches_is_low(
    rules: tuple[Rule, ...],
) -> None:
    findings = _judged(_host("nginx", "1.22.1", port=80), rules)
    severity, title = findings["nginx-eol"]
    assert severity is Severity.LOW
    assert title.endswith("but Debian 12 still patches its package")
    assert "distribution-release-unsupported" not in findings


def test_a_release_past_all_support_is_a_finding_and_keeps_its_end_of_life_high(
    rules: tuple[Rule, ...],
) -> None:
    stretch = make_host(
        services=(
            make_service(port=22, product="OpenSSH", version="7.4p1 Debian 10+deb9u7"),
            make_service(port=80, product="nginx", version="1.10.3"),
        )
    )
    findings = _judged(stretch, rules)
    assert findings["distribution-release-unsupported"][0] is Severity.HIGH
    assert findings["nginx-eol"][0] is Severity.HIGH


def test_the_support_dates_are_a_stated_data_source() -> None:
    names = [s.name for s in support_sources()]
    assert names == ["Debian release support dates", "Ubuntu release support dates"]
    assert all("rules/release-support" in s.update for s in support_sources())
