"""A distribution build the banner does not name: shipped versions and the host's other services."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.banners.products import identify
from scanner.model import Confidence, Finding, Host
from scanner.rule_engine.backports import (
    attribute,
    builtin_shipped,
    host_distribution,
    load_shipped,
)
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import Rule, evaluate
from scanner.support.errors import InputError
from scanner.support.resources import builtin_rules_dir
from tests.factories import make_host, make_service

NGINX_EOL = "nginx-eol"


@pytest.fixture(scope="module")
def rules() -> tuple[Rule, ...]:
    return tuple(r for r in load_rules([builtin_rules_dir()]) if r.id == NGINX_EOL)


def _nginx(version: str, *others: tuple[str, str, str]) -> Host:
    services = [make_service(port=80, product="nginx", version=version)]
    services += [
        make_service(port=22, name="ssh", product=product, version=v, extrainfo=extra)
        for product, v, extra in others
    ]
    return make_host(services=tuple(services))


def _eol(rules: tuple[Rule, ...], host: Host) -> Finding:
    (finding,) = [f for f in evaluate([host], [], rules) if f.rule_id == NGINX_EOL]
    return finding


def test_a_version_debian_ships_is_low_confidence_and_says_why(rules: tuple[Rule, ...]) -> None:
    finding = _eol(rules, _nginx("1.22.1"))
    assert finding.confidence is Confidence.LOW
    (note,) = [n for n in finding.notes if "backported" in n]
    assert "Debian 12 (bookworm) ships exactly this version" in note


def test_an_upstream_version_no_distribution_ships_stays_certain(rules: tuple[Rule, ...]) -> None:
    finding = _eol(rules, _nginx("1.22.0"))
    assert finding.confidence is Confidence.HIGH
    assert not any("backported" in n for n in finding.notes)


def test_another_service_naming_the_distribution_lowers_confidence(
    rules: tuple[Rule, ...],
) -> None:
    host = _nginx("1.22.0", ("OpenSSH", "9.2p1 Debian 2+deb12u3", "protocol 2.0"))
    assert host_distribution(host) == "Debian"
    finding = _eol(rules, host)
    assert finding.confidence is Confidence.LOW
    assert any("another service on this host is a Debian build" in n for n in finding.notes)


def test_a_banner_that_names_its_distribution_keeps_its_own_reason() -> None:
    service = make_service(product="Apache httpd", version="2.4.62", extrainfo="(Debian)")
    product = attribute(identify(service), "Ubuntu", builtin_shipped())
    assert (product.version.distro, product.version.distro_reason) == ("Debian", "")


def test_bad_distribution_data_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text(json.dumps({"distribution": "X"}), encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.json: invalid distribution data"):
        load_shipped(tmp_path)


def test_a_shipped_version_that_is_no_version_names_the_file(tmp_path: Path) -> None:
    data = {"distribution": "X 1", "packages": {"nginx": {"upstream": ["one.two"]}}}
    (tmp_path / "x.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=r"x\.json: nginx version 'one\.two'"):
        load_shipped(tmp_path)
