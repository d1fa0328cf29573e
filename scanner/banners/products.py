"""Map what nmap calls a product to the product ids that rules name.

nmap's product strings vary (`Apache httpd`, `PostgreSQL DB`, `MySQL` for a
MariaDB server); rules match one stable id per product instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.banners.versions import BannerVersion, normalise
from scanner.model import Service

# (product id, pattern on nmap's product name), first match wins.
_PRODUCTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("apache-httpd", re.compile(r"^Apache httpd$", re.I)),
    ("apache-tomcat", re.compile(r"^Apache Tomcat\b", re.I)),
    ("nginx", re.compile(r"^nginx$", re.I)),
    ("iis", re.compile(r"^Microsoft IIS", re.I)),
    ("openssh", re.compile(r"^OpenSSH$", re.I)),
    ("mariadb", re.compile(r"^MariaDB\b", re.I)),
    ("mysql", re.compile(r"^MySQL\b", re.I)),
    ("postgresql", re.compile(r"^PostgreSQL\b", re.I)),
    ("redis", re.compile(r"^Redis\b", re.I)),
    ("memcached", re.compile(r"^Memcached\b", re.I)),
    ("mongodb", re.compile(r"^MongoDB\b", re.I)),
    ("elasticsearch", re.compile(r"^Elasticsearch\b", re.I)),
    ("vsftpd", re.compile(r"^vsftpd$", re.I)),
    ("proftpd", re.compile(r"^ProFTPD$", re.I)),
    ("exim", re.compile(r"^Exim\b", re.I)),
    ("couchdb", re.compile(r"^CouchDB\b", re.I)),
    ("webmin", re.compile(r"^MiniServ$", re.I)),
)


# How many release numbers a full version of the product has; a banner with
# fewer (Apache's `ServerTokens Minor` sends `Apache/2.4`) hides the patch level.
_RELEASE_PARTS = {
    "apache-httpd": 3,
    "apache-tomcat": 3,
    "nginx": 3,
    "iis": 2,
    "openssh": 2,
    "mariadb": 3,
    "mysql": 3,
    "redis": 3,
    "memcached": 3,
    "mongodb": 3,
    "elasticsearch": 3,
    "vsftpd": 3,
    "proftpd": 3,
    "exim": 2,
    "php": 3,
    "openssl": 3,
}


# Components a server names in its banner beside itself (`Apache/2.4.6 (CentOS)
# OpenSSL/1.0.2k-fips PHP/5.4.16`): each is software with versions of its own.
_TOKENS: dict[str, str] = {"openssl": "openssl", "php": "php"}
_TOKEN = re.compile(r"(?<![\w/])(OpenSSL|PHP)/(\d[\w.+~-]*)", re.I)


@dataclass(frozen=True)
class ProductVersion:
    """A product id (empty when unknown), how the banner named it, and its version."""

    product: str
    version: BannerVersion
    label: str = ""

    @property
    def partial(self) -> bool:
        """True when the banner gave fewer release numbers than a full version."""
        expected = _RELEASE_PARTS.get(self.product, 0)
        return self.version.known and 0 < self.version.components < expected


def known_product_ids() -> frozenset[str]:
    return frozenset([pid for pid, _ in _PRODUCTS] + list(_TOKENS.values()))


def identify(service: Service) -> ProductVersion:
    product = ""
    for product_id, pattern in _PRODUCTS:
        if pattern.search(service.product):
            product = product_id
            break
    # MariaDB answers with MySQL's protocol and nmap names it MySQL.
    if product == "mysql" and "mariadb" in service.version.lower():
        product = "mariadb"
    return ProductVersion(product, normalise(service.version, service.extrainfo), service.product)


def identify_all(service: Service) -> tuple[ProductVersion, ...]:
    """The service's own product, then the components its banner names."""
    found = [identify(service)]
    seen = {found[0].product}
    for name, raw in _TOKEN.findall(f"{service.version} {service.extrainfo}"):
        product = _TOKENS[name.lower()]
        if product in seen:
            continue
        seen.add(product)
        # The distribution named anywhere in the banner built these too.
        found.append(ProductVersion(product, normalise(raw, service.extrainfo), f"{name}/{raw}"))
    return tuple(found)


# Software tokens in HTTP headers (`Server: Apache/2.4.49 (Unix) PHP/7.4.3`,
# `X-Powered-By: PHP/5.3.3`): the same products the banner rules know.
_HEADER_PRODUCTS = {
    "apache": "apache-httpd",
    "nginx": "nginx",
    "microsoft-iis": "iis",
    "php": "php",
    "openssl": "openssl",
}
_HEADER_TOKEN = re.compile(
    r"(?<![\w/.-])(Apache|nginx|Microsoft-IIS|PHP|OpenSSL)/(\d[\w.+~-]*)", re.I
)
_MAX_HEADER = 512


def products_in_header(text: str) -> tuple[ProductVersion, ...]:
    """Products and versions named in an HTTP header value, with the header's
    distribution comment (`(Debian)`) taken into account."""
    text = text[:_MAX_HEADER]
    found: list[ProductVersion] = []
    seen: set[str] = set()
    for name, raw in _HEADER_TOKEN.findall(text):
        product = _HEADER_PRODUCTS[name.lower()]
        if product in seen:
            continue
        seen.add(product)
        found.append(ProductVersion(product, normalise(raw, text), f"{name}/{raw}"))
    return tuple(found)
