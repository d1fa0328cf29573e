"""OSV records (https://ossf.github.io/osv-schema/): one vulnerability, its
affected packages with version ranges (`introduced` / `fixed` /
`last_affected` events) or explicit versions, and CVSS vectors."""

from __future__ import annotations

import re
from typing import Any

from scanner.feeds import Advisory, iso_date, severity_from_cvss, severity_from_word
from scanner.feeds.cvss import base_score

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


def _cvss(record: dict[str, Any]) -> tuple[float | None, str]:
    best: tuple[float | None, str] = (None, "")
    for item in record.get("severity", []):
        vector = str(item.get("score", ""))
        score = base_score(vector)
        if score is not None and (best[0] is None or str(item.get("type")) >= "CVSS_V3"):
            best = (score, vector)
    return best


def parse(record: dict[str, Any], product_override: str | None = None) -> list[Advisory]:
    vuln_id = str(record["id"])
    aliases = tuple(str(a) for a in record.get("aliases", []))
    # Name the finding by its CVE when the record has one.
    cve = next((a for a in (vuln_id, *aliases) if a.startswith("CVE-")), vuln_id)
    others = tuple(a for a in (vuln_id, *aliases) if a != cve)
    score, vector = _cvss(record)
    word = str(record.get("database_specific", {}).get("severity", ""))
    severity = severity_from_cvss(score) if score is not None else severity_from_word(word)
    if severity is None:
        return []
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
        if product is None or not specs:
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
                cvss_score=score,
                cvss_vector=vector,
                vendor_severity=word.lower(),
                fixed_in=tuple(dict.fromkeys(fixed)),
                published=iso_date(str(record.get("published", ""))),
                references=(*links, f"https://osv.dev/vulnerability/{vuln_id}"),
            )
        )
    return advisories
