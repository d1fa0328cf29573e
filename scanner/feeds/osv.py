"""OSV records (https://ossf.github.io/osv-schema/): one vulnerability, its
affected packages with version ranges (`introduced` / `fixed` /
`last_affected` events) or explicit versions, and CVSS vectors.

CVSS comes from the record's `severity` list, or an affected package's own
`severity` list, which OSV lets override it for that package; of several, the
newest CVSS version wins, whatever the order. The severity follows a v3/v4
score, else `database_specific.severity`'s word, else a v2 score on v2's own
scale (a v2 vector never becomes the rule's CVSS: see `rule_writer`).
"""

from __future__ import annotations

import re
from typing import Any

from scanner.feeds import Advisory, iso_date, severity_from_word
from scanner.feeds import cvss as scores
from scanner.feeds.cvss import Cvss
from scanner.model import Severity

# OSV package names that are trustscan products; others need --product.
_PACKAGES = {
    "apache2": "apache-httpd",
    "httpd": "apache-httpd",
    "nginx": "nginx",
    "openssh": "openssh",
    "openssh-server": "openssh",
    "mariadb": "mariadb",
    "mysql": "mysql",
    "postgresql": "postgresql",
    "redis": "redis",
    "memcached": "memcached",
    "mongodb": "mongodb",
    "elasticsearch": "elasticsearch",
    "vsftpd": "vsftpd",
    "proftpd": "proftpd",
    "exim": "exim",
    "exim4": "exim",
    "php": "php",
    "openssl": "openssl",
    "tomcat": "apache-tomcat",
}
_ORDERED_TYPES = frozenset({"ECOSYSTEM", "SEMVER"})


def is_osv_record(data: Any) -> bool:
    return isinstance(data, dict) and "id" in data and isinstance(data.get("affected"), list)


def _ranges(affected: dict[str, Any]) -> tuple[list[str], list[str]]:
    specs: list[str] = []
    fixed: list[str] = []
    for rng in affected.get("ranges", []):
        if rng.get("type") not in _ORDERED_TYPES:
            continue  # GIT ranges name commits, not versions a banner shows
        start = ""
        for event in rng.get("events", []):
            if "introduced" in event:
                value = str(event["introduced"])
                start = "" if value == "0" else f">={value}"
            elif "fixed" in event:
                fixed.append(str(event["fixed"]))
                specs.append(",".join(filter(None, (start, f"<{event['fixed']}"))))
                start = ""
            elif "last_affected" in event:
                specs.append(",".join(filter(None, (start, f"<={event['last_affected']}"))))
                start = ""
        if start:
            specs.append(start)  # introduced and never fixed
    for version in affected.get("versions", []):
        if re.match(r"^\d", str(version)):
            specs.append(f"=={version}")
    return list(dict.fromkeys(specs)), fixed


def _cvss(holder: dict[str, Any]) -> Cvss | None:
    """The newest-version CVSS of a `severity` list (the record's or a package's)."""
    items = holder.get("severity")
    return scores.best(
        scores.parse(str(item.get("score", "")))
        for item in (items if isinstance(items, list) else ())
        if isinstance(item, dict)
    )


def _severity(cvss: Cvss | None, word: str) -> Severity | None:
    if cvss is not None and not cvss.is_v2:
        return scores.severity(cvss)
    by_word = severity_from_word(word)
    if by_word is not None:
        return by_word
    return scores.severity(cvss) if cvss is not None else None


def parse(record: dict[str, Any], product_override: str | None = None) -> list[Advisory]:
    vuln_id = str(record["id"])
    aliases = tuple(str(a) for a in record.get("aliases", []))
    # Name the finding by its CVE when the record has one.
    cve = next((a for a in (vuln_id, *aliases) if a.startswith("CVE-")), vuln_id)
    others = tuple(a for a in (vuln_id, *aliases) if a != cve)
    overall = _cvss(record)
    word = str(record.get("database_specific", {}).get("severity", ""))
    links = [
        str(r["url"])
        for r in record.get("references", [])
        if str(r.get("url", "")).startswith("https://")
        and r.get("type") in ("ADVISORY", "WEB", "REPORT", "FIX")
    ][:3]
    advisories = []
    for affected in record["affected"]:
        package = affected.get("package", {})
        product = product_override or _PACKAGES.get(str(package.get("name", "")).lower())
        specs, fixed = _ranges(affected)
        cvss = _cvss(affected) or overall
        severity = _severity(cvss, word)
        if product is None or not specs or severity is None:
            continue
        ecosystem = str(package.get("ecosystem", ""))
        advisories.append(
            Advisory(
                id=cve,
                product=product,
                specifiers=tuple(specs),
                severity=severity,
                source=f"the OSV record {vuln_id}" + (f" ({ecosystem})" if ecosystem else ""),
                aliases=others,
                cvss_score=cvss.score if cvss is not None else None,
                cvss_vector=cvss.vector if cvss is not None else "",
                vendor_severity=word.lower(),
                fixed_in=tuple(dict.fromkeys(fixed)),
                published=iso_date(str(record.get("published", ""))),
                references=(*links, f"https://osv.dev/vulnerability/{vuln_id}"),
            )
        )
    return advisories
