"""Write advisories as trustscan rule files, in trustscan's own words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from scanner.feeds import Advisory
from scanner.feeds import cvss as scores

PRODUCT_NAMES = {
    "apache-httpd": "Apache httpd",
    "apache-tomcat": "Apache Tomcat",
    "nginx": "nginx",
    "iis": "Microsoft IIS",
    "openssh": "OpenSSH",
    "mariadb": "MariaDB",
    "mysql": "MySQL",
    "postgresql": "PostgreSQL",
    "redis": "Redis",
    "memcached": "Memcached",
    "mongodb": "MongoDB",
    "elasticsearch": "Elasticsearch",
    "vsftpd": "vsftpd",
    "proftpd": "ProFTPD",
    "exim": "Exim",
    "php": "PHP",
    "openssl": "OpenSSL",
}

_WEB = (
    ["customer accounts", "session cookies", "personal data sent through the site"],
    "A published hole in the software in front of customers is the first thing "
    "attackers try. Left unpatched, it can expose what customers send and see, and "
    "shows that a known fix was not applied.",
)
_DATA = (
    ["customer records held in the database"],
    "A published hole in a data store can hand an attacker the customer records it "
    "holds; a breach through a known, fixable flaw is the hardest one to explain "
    "to customers and regulators.",
)
_ADMIN = (
    ["administrative access to servers that hold customer data"],
    "A published hole in remote administration gives an attacker the keys to the "
    "servers behind the service, and with them every customer record stored there.",
)
_FILES = (
    ["files customers upload or download", "data exports"],
    "A published hole in a file-transfer or mail server can expose the files and "
    "messages customers trusted to it.",
)
TRUST: dict[str, tuple[list[str], str]] = {
    "apache-httpd": _WEB,
    "apache-tomcat": _WEB,
    "nginx": _WEB,
    "iis": _WEB,
    "php": _WEB,
    "openssl": (
        ["data in transit: passwords, card numbers, session cookies"],
        "A flaw in the TLS library can let an attacker read or alter what customers "
        "send over connections they were told are encrypted.",
    ),
    "openssh": _ADMIN,
    "mariadb": _DATA,
    "mysql": _DATA,
    "postgresql": _DATA,
    "redis": _DATA,
    "memcached": _DATA,
    "mongodb": _DATA,
    "elasticsearch": _DATA,
    "vsftpd": _FILES,
    "proftpd": _FILES,
    "exim": _FILES,
}
_MAX_LISTED = 6


def describe_versions(specifiers: Sequence[str]) -> str:
    """`==2.4.49` -> `2.4.49`; `>=2.4.7,<=2.4.51` -> `2.4.7 to 2.4.51`; bounded in length."""
    parts = []
    for spec in specifiers:
        bounds = dict(re.findall(r"(==|>=|<=|<|>)([^,]+)", spec))
        if "==" in bounds:
            parts.append(bounds["=="])
        elif ">=" in bounds and "<=" in bounds:
            parts.append(f"{bounds['>=']} to {bounds['<=']}")
        elif ">=" in bounds and "<" in bounds:
            parts.append(f"{bounds['>=']} up to (not including) {bounds['<']}")
        elif "<=" in bounds:
            parts.append(f"up to {bounds['<=']}")
        elif "<" in bounds:
            parts.append(f"before {bounds['<']}")
        elif ">=" in bounds:
            parts.append(f"{bounds['>=']} and later")
    if len(parts) > _MAX_LISTED:
        return f"{', '.join(parts[:_MAX_LISTED])} and {len(parts) - _MAX_LISTED} more releases"
    return ", ".join(parts)


def rule_id(advisory: Advisory) -> str:
    return f"{advisory.product}-{advisory.id.lower()}"


def _scored(advisory: Advisory) -> tuple[scores.Cvss | None, str]:
    """The CVSS the rule keeps, and what the description says of the score.

    A v2 score is not kept: the rule's `cvss` is what reports show and SARIF's
    `security-severity` reads, on the v3/v4 scale, and a v2 score is another
    scale (no "critical", different weights). The description says it was
    there and dropped, so "no CVSS" in a report is not read as "none exists"."""
    if advisory.cvss_score is None:
        return None, ""
    parsed = scores.parse(advisory.cvss_vector)
    if parsed is None:
        return None, ""
    if parsed.is_v2:
        return None, (
            f" The record scores it only in CVSS v2 ({parsed.score:g}, {parsed.vector}), "
            "which is not kept as its CVSS score: v2 rates on another scale than v3 and v4."
        )
    return parsed, f" Its CVSS {parsed.version} base score is {parsed.score:g}."


def to_rule(advisory: Advisory) -> dict[str, Any]:
    name = PRODUCT_NAMES.get(advisory.product, advisory.product)
    versions = describe_versions(advisory.specifiers)
    cvss, scored = _scored(advisory)
    rating = (
        f"rated {advisory.vendor_severity} by {advisory.source}"
        if advisory.vendor_severity
        else f"published by {advisory.source}"
    )
    weakness = f" The weakness is {advisory.weakness}." if advisory.weakness else ""
    fixed = " or ".join(advisory.fixed_in)
    fix_text = f" It is fixed in {fixed}." if fixed else ""
    at_stake, impact = TRUST.get(advisory.product, _WEB)
    vulnerability: dict[str, Any] = {"id": advisory.id}
    if advisory.aliases:
        vulnerability["aliases"] = list(advisory.aliases)
    if cvss is not None:
        vulnerability["cvss"] = {"score": cvss.score, "vector": cvss.vector}
    if advisory.vendor_severity:
        vulnerability["vendor_severity"] = advisory.vendor_severity
    if advisory.fixed_in:
        vulnerability["fixed_in"] = list(advisory.fixed_in)
    if advisory.published:
        vulnerability["published"] = advisory.published
    return {
        "id": rule_id(advisory),
        "title": f"{advisory.id} in {name} {versions}"[:200],
        "severity": advisory.severity.value,
        "category": "vulnerability",
        "vulnerability": vulnerability,
        "match": {
            "all": [
                {"product": advisory.product},
                {"version": list(advisory.specifiers)},
            ]
        },
        "description": (
            f"{name} {versions} is listed as affected by {advisory.id}, {rating}."
            f"{scored}{weakness}{fix_text}"
        ),
        "remediation": (
            f"Upgrade {name} to {fixed or 'a release that fixes it'} or later, or to a "
            "distribution package that carries the fix."
        ),
        "references": list(advisory.references),
        "trust": {"data_at_stake": at_stake, "impact": impact},
    }


class _Dumper(yaml.SafeDumper):
    """Spell every value out: rule files are read by people, not just parsers."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_rules(rules: Sequence[dict[str, Any]]) -> str:
    return yaml.dump(
        {"rules": list(rules)},
        Dumper=_Dumper,
        sort_keys=False,
        width=100,
        allow_unicode=True,
    )


def render(advisories: Sequence[Advisory], origin: str) -> str:
    # A file name may hold a line break: it must not end the comment.
    origin = "".join(ch if ch.isprintable() else "?" for ch in origin)
    header = (
        f"# Generated by `trustscan rules import` from {origin}.\n"
        "# Do not edit by hand: change the importer or the feed, and import again.\n"
    )
    return header + dump_rules([to_rule(a) for a in advisories])
