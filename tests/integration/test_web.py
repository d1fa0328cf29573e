"""Web servers end to end: real Apache and nginx (tests/websites.py) scanned
by the trustscan CLI with real nmap, ports 80 and 443, values sampled
(`--inspect-data`). One scan serves every test; they assert the http
probe's observations for each server, and that no customer value from the
exported files and no cookie value appears in any file the scan wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.web.servers import COOKIE_VALUES, raw_values
from tests.support import requires_nmap, scan_to_every_format
from tests.websites import Site, Websites

pytestmark = [pytest.mark.integration, requires_nmap]


@dataclass(frozen=True)
class Scan:
    result: dict[str, Any]
    files: tuple[Path, ...]

    def observations(self, site: Site, port: int, key: str) -> list[dict[str, Any]]:
        return [
            o
            for o in self.result["observations"]
            if o["host"] == site.address
            and o["port"] == port
            and o["probe"] == "http"
            and o["key"] == key
        ]

    def values(self, site: Site, port: int, key: str) -> list[str]:
        return [str(o["value"]) for o in self.observations(site, port, key)]

    def findings(self, site: Site) -> dict[tuple[str, int | None], dict[str, Any]]:
        return {
            (f["rule_id"], f["port"]): f
            for f in self.result["findings"]
            if f["host"] == site.address
        }

    def tls(self, site: Site, key: str) -> str:
        (value,) = [
            str(o["value"])
            for o in self.result["observations"]
            if o["host"] == site.address and o["port"] == 443 and o["key"] == key
        ]
        return value

    def evidence(self, site: Site, port: int, key: str) -> str:
        return " | ".join(str(o["evidence"]) for o in self.observations(site, port, key))


@pytest.fixture(scope="module")
def scan(websites: Websites, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    sites = websites.available()
    if not sites:
        pytest.skip("no web server could start here")
    directory = tmp_path_factory.mktemp("web")
    # The well-configured site's certificate comes from the tests' own CA.
    trust = ["--ca-file", str(websites.ca_file)] if websites.ca_file else []
    result, files = scan_to_every_format(
        directory,
        *(site.address for site in sites),
        "-p",
        "80,443",
        "--inspect-data",
        *trust,
    )
    return Scan(result, files)


def test_plaintext_apache(websites: Websites, scan: Scan) -> None:
    site = websites.get("apache")
    assert scan.values(site, 80, "http.sensitive_form") == ["password, email"]
    form = scan.evidence(site, 80, "http.sensitive_form")
    assert "/login.html: form action=/login method=post fields: username, password, email" in form
    assert scan.values(site, 80, "http.session_cookie") == ["SESSIONID"]
    assert scan.values(site, 80, "http.redirects_to_https") == ["no"]
    assert scan.values(site, 80, "http.server_header")[0].startswith("Apache/2.4")
    assert scan.values(site, 80, "http.hsts") == []


def test_apache_exposures(websites: Websites, scan: Scan) -> None:
    site = websites.get("apache")
    assert sorted(scan.values(site, 80, "http.exposure")) == ["directory-listing", "server-status"]
    shown = scan.evidence(site, 80, "http.exposure")
    assert "path=/backup/" in shown
    assert "Apache Server Status for" in shown


def test_apache_dumps_name_personal_data_masked(websites: Websites, scan: Scan) -> None:
    site = websites.get("apache")
    dumps = dict(
        zip(
            [e.split(":", 1)[0] for e in scan.evidence(site, 80, "http.dump").split(" | ")],
            scan.values(site, 80, "http.dump"),
            strict=True,
        )
    )
    for path in ("/backup/customers.csv", "/backup/shop.sql"):
        categories = dumps[path].split(", ")
        assert "email" in categories
        assert "card-number" in categories
    assert "password" in dumps["/backup/shop.sql"]
    shown = scan.evidence(site, 80, "http.dump")
    assert "card-number (**** **** **** " in shown
    assert "@example." in shown  # a masked address: the domain stays
    assert sorted(scan.values(site, 80, "http.dump_records"), key=int) == ["40", "250"]


def test_well_configured_nginx(websites: Websites, scan: Scan) -> None:
    site = websites.get("nginx-valid")
    assert scan.values(site, 443, "http.hsts") == ["present"]
    assert "max-age=31536000" in scan.evidence(site, 443, "http.hsts")
    assert scan.values(site, 443, "http.cookie_flags") == []  # its cookie has every flag
    assert scan.values(site, 443, "http.exposure") == []
    assert scan.values(site, 443, "http.sensitive_form") == []  # the form is served over https
    assert scan.values(site, 80, "http.redirects_to_https") == ["yes"]
    assert scan.values(site, 443, "http.server_header")[0].startswith("nginx/")


def test_nginx_without_hsts_and_cookie_flags(websites: Websites, scan: Scan) -> None:
    site = websites.get("nginx-no-hsts")
    assert scan.values(site, 443, "http.hsts") == ["missing"]
    assert scan.values(site, 443, "http.cookie_flags") == ["SESSION"]
    assert "SESSION: no Secure; no HttpOnly; no SameSite" in scan.evidence(
        site, 443, "http.cookie_flags"
    )


@pytest.mark.parametrize("name", ["nginx-expired", "nginx-self-signed", "nginx-legacy-tls"])
def test_https_with_bad_certificates_is_still_read(
    websites: Websites, scan: Scan, name: str
) -> None:
    # Certificates are the TLS probe's business: the http probe reads the page anyway.
    site = websites.get(name)
    assert scan.values(site, 443, "http.hsts") == ["missing"]
    assert scan.values(site, 443, "http.error") == []


def test_no_output_holds_a_customer_value_or_a_cookie_value(scan: Scan) -> None:
    secrets = {s for s in raw_values() if len(s) >= 4} | set(COOKIE_VALUES)
    assert len(scan.files) == 6  # JSON, HTML, SARIF, JUnit, Markdown and the console
    for path in scan.files:
        text = path.read_text(encoding="utf-8", errors="replace")
        leaked = sorted(s for s in secrets if s in text)
        assert leaked == [], f"{path.name} holds raw values: {len(leaked)} of them"


# Findings: what the rules make of the observations, per server.
EXPECTED = {
    "apache": {
        ("web-plaintext-login", 80): "high",
        ("web-server-status-exposed", 80): "medium",
        ("web-directory-listing", 80): "medium",
        ("web-dump-personal-data", 80): "critical",
    },
    "nginx-expired": {("tls-cert-expired", 443): "high", ("web-missing-hsts", 443): "low"},
    "nginx-self-signed": {("tls-cert-self-signed", 443): "medium"},
    "nginx-legacy-tls": {("tls-1.0-accepted", 443): "medium", ("tls-1.1-accepted", 443): "medium"},
    "nginx-no-hsts": {("web-missing-hsts", 443): "low", ("web-cookie-flags", 443): "medium"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings_per_site(websites: Websites, scan: Scan, name: str) -> None:
    found = scan.findings(websites.get(name))
    for key, severity in EXPECTED[name].items():
        assert key in found, f"{name}: no {key[0]} on {key[1]}: {sorted(found)}"
        assert found[key]["severity"] == severity


def test_well_configured_site_has_no_web_or_tls_finding(websites: Websites, scan: Scan) -> None:
    site = websites.get("nginx-valid")
    web_or_tls = sorted(r for r, _ in scan.findings(site) if r.startswith(("web-", "tls-")))
    assert web_or_tls == []
    assert scan.tls(site, "tls.cert_trusted") == "yes"
    assert scan.tls(site, "tls.cert_hostname_match") == "yes"
    assert scan.tls(site, "tls.version.TLSv1.0") == "refused"
    assert scan.tls(site, "tls.version.TLSv1.2") == "accepted"
    assert scan.tls(site, "tls.version.SSLv3") == "untestable"


def test_tls_versions_and_certificates_read_from_real_nginx(websites: Websites, scan: Scan) -> None:
    assert scan.tls(websites.get("nginx-legacy-tls"), "tls.version.TLSv1.0") == "accepted"
    assert scan.tls(websites.get("nginx-expired"), "tls.cert_expired") == "yes"
    assert scan.tls(websites.get("nginx-self-signed"), "tls.cert_self_signed") == "yes"
    assert scan.tls(websites.get("nginx-self-signed"), "tls.cert_trusted") == "no"
