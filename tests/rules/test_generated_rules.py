"""The generated rules (rules/cve/, rules/lifecycle/): made from the shared data,
never edited by hand, and matching what the data says."""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

import pytest

from scanner.feeds.importer import import_feeds
from scanner.model import Finding, Host
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import Rule, evaluate
from scanner.support.resources import builtin_rules_dir
from tests.factories import make_host, make_service
from tests.support import REPO

SHARED = REPO.parent / "shared" / "data"
RULES = builtin_rules_dir()
LIFECYCLE_AS_OF = "2026-08-22"  # the endoflife.date snapshot's date (shared/data/README.md)


def _same_tree(generated: Path, committed: Path) -> None:
    names = sorted(p.name for p in generated.iterdir())
    assert names == sorted(p.name for p in committed.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(generated, committed, names, shallow=False)
    assert mismatch == [], f"regenerate with `trustscan rules import`: {mismatch[:5]}"
    assert errors == []


@pytest.mark.skipif(not (SHARED / "apache-httpd-cve").is_dir(), reason="no shared data")
def test_apache_cve_rules_are_the_import_of_the_shared_data(tmp_path: Path) -> None:
    import_feeds([SHARED / "apache-httpd-cve"], tmp_path, None)
    _same_tree(tmp_path, RULES / "cve" / "apache-httpd")


@pytest.mark.skipif(not (SHARED / "endoflife").is_dir(), reason="no shared data")
def test_lifecycle_rules_are_the_import_of_the_shared_data(tmp_path: Path) -> None:
    from datetime import date

    out, support = tmp_path / "out", tmp_path / "support"
    import_feeds([SHARED / "endoflife"], out, None, date.fromisoformat(LIFECYCLE_AS_OF))
    # The distribution pages (debian.yaml, ubuntu.yaml) give release support data.
    support.mkdir()
    for made in out.glob("*-support.json"):
        made.rename(support / made.name)
    _same_tree(out, RULES / "lifecycle")
    _same_tree(support, RULES / "release-support")


@pytest.fixture(scope="module")
def rules() -> tuple[Rule, ...]:
    return load_rules([RULES])


def _scan(rules: tuple[Rule, ...], product: str, version: str, extrainfo: str = "") -> Host:
    return make_host(
        services=(make_service(product=product, version=version, extrainfo=extrainfo),)
    )


def _findings(
    rules: tuple[Rule, ...], product: str, version: str, extrainfo: str = ""
) -> tuple[Finding, ...]:
    return evaluate([_scan(rules, product, version, extrainfo)], [], rules)


def _cves(findings: tuple[Finding, ...]) -> set[str]:
    return {v.id for f in findings for v in f.vulnerabilities}


def test_apache_2_4_49_names_the_path_traversal_cves(rules: tuple[Rule, ...]) -> None:
    findings = _findings(rules, "Apache httpd", "2.4.49", "(Unix)")
    grouped = [f for f in findings if f.rule_id == "apache-httpd-known-vulnerabilities"]
    assert len(grouped) == 1  # one finding for all of them, not a row per CVE
    (group,) = grouped
    assert {"CVE-2021-41773", "CVE-2021-42013"} <= _cves(findings)
    assert group.severity.value == "critical"
    assert group.vulnerabilities[0].severity.value == "critical"  # worst first
    assert "2.4.59" in group.remediation or "2.4." in group.remediation


def test_apache_2_2_15_names_2_2_branch_cves(rules: tuple[Rule, ...]) -> None:
    cves = _cves(_findings(rules, "Apache httpd", "2.2.15", "(CentOS)"))
    # Fixed in 2.2.16 and 2.2.17 respectively: both affect 2.2.15.
    assert {"CVE-2010-1452", "CVE-2010-1623"} <= cves
    assert "CVE-2021-41773" not in cves


def test_newest_apache_the_data_knows_has_no_known_cve(rules: tuple[Rule, ...]) -> None:
    assert _cves(_findings(rules, "Apache httpd", "2.4.71", "(Debian)")) == set()


@pytest.mark.parametrize(
    ("product", "version", "extrainfo", "rule_id"),
    [
        ("nginx", "1.22.1", "", "nginx-eol"),
        ("Redis key-value store", "7.0.15", "", "redis-eol"),
        ("MySQL", "5.5.5-10.3.39-MariaDB-0+deb10u2", "", "mariadb-eol"),
        ("PostgreSQL DB", "9.6.24", "", "postgresql-eol"),
        ("Apache httpd", "2.2.15", "(CentOS) PHP/5.3.3 OpenSSL/1.0.1e-fips", "php-eol"),
        ("Apache httpd", "2.2.15", "(CentOS) PHP/5.3.3 OpenSSL/1.0.1e-fips", "openssl-eol"),
        ("Memcached", "1.6.18", "", "memcached-outdated"),
        ("MySQL", "5.5.5-10.11.6-MariaDB-0+deb12u1", "", "mariadb-outdated"),
    ],
)
def test_lifecycle_facts(
    rules: tuple[Rule, ...], product: str, version: str, extrainfo: str, rule_id: str
) -> None:
    assert rule_id in {f.rule_id for f in _findings(rules, product, version, extrainfo)}


@pytest.mark.parametrize(
    ("product", "version"),
    [
        ("nginx", "1.30.4"),
        ("nginx", "1.40.0"),
        ("Redis key-value store", "8.10.1"),
        ("MySQL", "5.5.5-10.11.18-MariaDB"),
        ("PostgreSQL DB", "18.6"),
    ],
)
def test_current_or_newer_than_the_data_is_not_flagged(
    rules: tuple[Rule, ...], product: str, version: str
) -> None:
    lifecycle = {
        f.rule_id
        for f in _findings(rules, product, version)
        if f.category in ("end-of-life", "outdated-software")
    }
    assert lifecycle == set()


def _generated(rules: tuple[Rule, ...]) -> list[Rule]:
    return [r for r in rules if "/cve/" in r.source or "/lifecycle/" in r.source]


def _inside(spec: str) -> str | None:
    """A version the specifier set holds: its lower bound, exact version or upper bound."""
    bounds: dict[str, str] = dict(re.findall(r"(==|>=|<=|<|>)([^,]+)", spec))
    for op in ("==", ">=", "<="):
        if op in bounds:
            version = bounds[op].replace(".*", ".0")
            # A banner with the full release, so no patch level is hidden.
            while version.split(".post")[0].count(".") < 2:
                version += ".0"
            return version
    return None


def test_every_generated_rule_matches_inside_its_ranges_and_not_past_them(
    rules: tuple[Rule, ...],
) -> None:
    checked = 0
    for rule in _generated(rules):
        product = next(iter(rule.match.items[0].products))  # type: ignore[union-attr]
        versions = rule.match.items[1].specifiers  # type: ignore[union-attr]
        probe_rule = (rule,)
        for spec in versions:
            inside = _inside(str(spec))
            if inside is None:
                continue
            host = _host_running(product, inside)
            assert evaluate([host], [], probe_rule), f"{rule.id} does not match {inside}"
            checked += 1
        far = _host_running(product, "999.0.0")
        assert evaluate([far], [], probe_rule) == (), f"{rule.id} matches a future version"
    assert checked > 300


def _host_running(product: str, version: str) -> Host:
    if product in _TOKENS:  # PHP and OpenSSL show up in a web server's banner
        service = make_service(
            product="Apache httpd",
            version="2.4.99",
            extrainfo=f"(Unix) {_TOKENS[product]}/{version}",
        )
    else:
        service = make_service(product=_NMAP_NAMES[product], version=version)
    return make_host(services=(service,))


_TOKENS = {"php": "PHP", "openssl": "OpenSSL"}


_NMAP_NAMES = {
    "apache-httpd": "Apache httpd",
    "nginx": "nginx",
    "php": "PHP",
    "openssl": "OpenSSL",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "postgresql": "PostgreSQL DB",
    "redis": "Redis key-value store",
    "mongodb": "MongoDB",
    "elasticsearch": "Elasticsearch",
    "apache-tomcat": "Apache Tomcat",
    "memcached": "Memcached",
    "exim": "Exim smtpd",
    "proftpd": "ProFTPD",
}
