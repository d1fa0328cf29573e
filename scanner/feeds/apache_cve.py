"""The Apache HTTP Server project's own CVE records (httpd-site, security/json).

Two formats occur: MITRE CVE JSON 4.0 (`affects` with `version_affected`
operators: `=` and `?=` list affected releases, `<=`/`<` an upper bound,
`!<`/`>=` a lower bound) and CVE JSON 5 (`containers.cna.affected` ranges).
The project rates severity in words (low, moderate, important, critical)
rather than CVSS. A CVSS score is used only when a record carries one, never
made up: in CVE JSON 5 the CNA's `metrics` (cvssV4_0, cvssV3_1, cvssV3_0,
cvssV2_0; the newest version wins) and, when the CNA gives no v3 or v4 score,
CISA's ADP container (`containers.adp[]` whose `providerMetadata.shortName` is
"CISA-ADP"); in CVE JSON 4.0 an `impact` entry's `cvss`. The Apache records
of httpd-site carry none (4.0 records hold the project's word, 5.x records
only "other" metrics), so their rules have no CVSS.

The severity comes from the CNA's own v3/v4 score, else from the project's
word, else from CISA's score, else from a v2 score on v2's scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from scanner.feeds import Advisory, iso_date, severity_from_word
from scanner.feeds import cvss as scores
from scanner.feeds.cvss import Cvss
from scanner.model import Severity

SOURCE = "the Apache HTTP Server security team"
# Who scored a CVSS taken from CISA's ADP container: said next to the source,
# since the project itself did not score it.
ADP_SOURCE = f"{SOURCE} (CVSS from CISA's ADP container of the CVE record)"
CISA_ADP = "CISA-ADP"
_CVSS_KEYS = ("cvssV4_0", "cvssV3_1", "cvssV3_0", "cvssV2_0")
_PRODUCTS = {"apache http server": "apache-httpd"}
_RELEASED = re.compile(r"^(\d+\.\d+\.\d+) released$", re.I)
_CWE = re.compile(r"^CWE-\d+\b")
_BRANCH_PAGES = {
    "1.3": "https://httpd.apache.org/security/vulnerabilities_13.html",
    "2.0": "https://httpd.apache.org/security/vulnerabilities_20.html",
    "2.2": "https://httpd.apache.org/security/vulnerabilities_22.html",
    "2.4": "https://httpd.apache.org/security/vulnerabilities_24.html",
}


class FeedError(ValueError):
    pass


def is_apache_record(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if "CVE_data_meta" in data:
        return True
    return isinstance(data.get("containers"), dict) and "cveMetadata" in data


def parse(data: dict[str, Any], product_override: str | None = None) -> list[Advisory]:
    if "CVE_data_meta" in data:
        return _parse_v4(data, product_override)
    return _parse_v5(data, product_override)


def _product(name: str, override: str | None) -> str | None:
    return override or _PRODUCTS.get(name.strip().lower())


def _fixed_in(timeline: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    versions = []
    for event in timeline or ():
        match = _RELEASED.match(str(event.get("value", "")).strip())
        if match:
            versions.append(match.group(1))
    return tuple(dict.fromkeys(versions))


def _branch_pages(specifiers: Iterable[str]) -> list[str]:
    pages = []
    for spec in specifiers:
        for version in re.findall(r"(\d+\.\d+)\.\d+", spec):
            page = _BRANCH_PAGES.get(version)
            if page and page not in pages:
                pages.append(page)
    return pages


def _references(cve: str, specifiers: Iterable[str]) -> tuple[str, ...]:
    return (*_branch_pages(specifiers), f"https://www.cve.org/CVERecord?id={cve}")


def _v4_specifiers(version_data: list[dict[str, Any]]) -> list[str]:
    exact: list[str] = []
    lower: dict[str, str] = {}
    upper: dict[str, str] = {}
    for item in version_data:
        op = str(item.get("version_affected", "")).strip()
        value = str(item.get("version_value", "")).strip()
        branch = str(item.get("version_name", "")).strip()
        if not value or not re.match(r"^\d", value):
            continue
        if op in ("=", "?="):
            exact.append(f"=={value}")
        elif op in ("<=", "<"):
            upper[branch] = f"{op}{value}"
        elif op in ("!<", ">="):
            lower[branch] = f">={value}"
    ranges = [",".join(filter(None, (lower.get(b), bound))) for b, bound in upper.items()]
    return list(dict.fromkeys(ranges + exact))


def _impact_word(impact: Any) -> str:
    items = impact if isinstance(impact, list) else [impact]
    for item in items:
        if isinstance(item, dict):
            for key in ("other", "text"):
                if isinstance(item.get(key), str):
                    return str(item[key])
    return ""


def _metric_scores(metrics: Any) -> Cvss | None:
    """The newest CVSS of a `metrics` list (CVE JSON 5), from its vectors."""
    found: list[Cvss | None] = []
    for metric in metrics if isinstance(metrics, list) else ():
        if not isinstance(metric, dict):
            continue
        for key in _CVSS_KEYS:
            item = metric.get(key)
            if isinstance(item, dict) and isinstance(item.get("vectorString"), str):
                found.append(scores.parse(item["vectorString"]))
    return scores.best(found)


def _adp_scores(containers: dict[str, Any]) -> Cvss | None:
    """CISA's CVSS from its ADP container, when it gives one."""
    for adp in containers.get("adp") or ():
        if not isinstance(adp, dict):
            continue
        provider = adp.get("providerMetadata")
        if isinstance(provider, dict) and provider.get("shortName") == CISA_ADP:
            found = _metric_scores(adp.get("metrics"))
            if found is not None:
                return found
    return None


def _v4_scores(impact: Any) -> Cvss | None:
    """CVE JSON 4.0's `impact.cvss` (an object or a list of them), when present."""
    found: list[Cvss | None] = []
    for item in impact if isinstance(impact, list) else [impact]:
        metrics = item.get("cvss") if isinstance(item, dict) else None
        for metric in metrics if isinstance(metrics, list) else [metrics]:
            if isinstance(metric, dict) and isinstance(metric.get("vectorString"), str):
                found.append(scores.parse(metric["vectorString"]))
    return scores.best(found)


def _rated(
    word: str, own: Cvss | None, cisa: Cvss | None = None
) -> tuple[Severity | None, Cvss | None, str]:
    """The severity, the CVSS shown and whom to name as the source, from the
    project's word, its own score and CISA's.

    The project's v3/v4 score decides the severity, then its word (the
    project knows its code), then the score shown. That is the project's
    v3/v4 score, else CISA's, else a v2 score of either (kept out of the rule
    by `rule_writer`, but it still rates the record on v2's scale)."""
    given = [(c, s) for c, s in ((own, SOURCE), (cisa, ADP_SOURCE)) if c is not None]
    given.sort(key=lambda pair: pair[0].is_v2)  # stable: the project's first
    shown, source = given[0] if given else (None, SOURCE)
    if own is not None and not own.is_v2:
        return scores.severity(own), shown, source
    by_word = severity_from_word(word)
    if by_word is not None:
        return by_word, shown, source
    return (scores.severity(shown) if shown is not None else None), shown, source


def _advisories(
    cve: str,
    affected: Iterable[tuple[str, list[str]]],
    override: str | None,
    *,
    severity: Severity,
    word: str,
    timeline: Iterable[dict[str, Any]],
    published: str,
    weakness: str,
    cvss: Cvss | None = None,
    source: str = SOURCE,
) -> list[Advisory]:
    """One advisory per affected product trustscan knows, in either format."""
    fixed_in = _fixed_in(timeline)
    advisories = []
    for name, specifiers in affected:
        product_id = _product(name, override)
        if product_id is None or not specifiers:
            continue
        advisories.append(
            Advisory(
                id=cve,
                product=product_id,
                specifiers=tuple(specifiers),
                severity=severity,
                source=source,
                cvss_score=cvss.score if cvss is not None else None,
                cvss_vector=cvss.vector if cvss is not None else "",
                vendor_severity=word.lower(),
                fixed_in=fixed_in,
                published=iso_date(published),
                weakness=weakness,
                references=_references(cve, specifiers),
            )
        )
    return advisories


def _parse_v4(data: dict[str, Any], override: str | None) -> list[Advisory]:
    meta = data.get("CVE_data_meta", {})
    cve = str(meta.get("ID", "")).strip()
    if not cve:
        raise FeedError("record has no CVE_data_meta.ID")
    word = _impact_word(data.get("impact"))
    severity, cvss, source = _rated(word, _v4_scores(data.get("impact")))
    if severity is None:
        return []  # the project did not rate it (e.g. "n/a"): nothing to report
    weakness = ""
    for problem in data.get("problemtype", {}).get("problemtype_data", []):
        for desc in problem.get("description", []):
            if _CWE.match(str(desc.get("value", ""))):
                weakness = str(desc["value"])
    published = iso_date(str(meta.get("DATE_PUBLIC", "")))
    if not published:
        published = next(
            (
                str(e.get("time", ""))[:10]
                for e in data.get("timeline", [])
                if str(e.get("value", "")).lower() == "public"
            ),
            "",
        )
    affected = (
        (
            str(product.get("product_name", "")),
            _v4_specifiers(product.get("version", {}).get("version_data", [])),
        )
        for vendor in data.get("affects", {}).get("vendor", {}).get("vendor_data", [])
        for product in vendor.get("product", {}).get("product_data", [])
    )
    return _advisories(
        cve,
        affected,
        override,
        severity=severity,
        word=word,
        timeline=data.get("timeline", []),
        published=published,
        weakness=weakness,
        cvss=cvss,
        source=source,
    )


def _v5_specifiers(versions: list[dict[str, Any]]) -> list[str]:
    specs = []
    for item in versions:
        if item.get("status") != "affected":
            continue
        start = str(item.get("version", "")).strip()
        lower = f">={start}" if start and start not in ("0", "*") else ""
        if item.get("lessThanOrEqual"):
            specs.append(",".join(filter(None, (lower, f"<={item['lessThanOrEqual']}"))))
        elif item.get("lessThan"):
            specs.append(",".join(filter(None, (lower, f"<{item['lessThan']}"))))
        elif start and re.match(r"^\d", start):
            specs.append(f"=={start}")
    return specs


def _v5_word(metrics: list[dict[str, Any]]) -> str:
    """The project's own rating: an "other" metric's `content.text`."""
    word = ""
    for metric in metrics:
        other = metric.get("other", {}).get("content", {})
        if isinstance(other, dict) and isinstance(other.get("text"), str):
            word = other["text"]
    return word


def _parse_v5(data: dict[str, Any], override: str | None) -> list[Advisory]:
    cve = str(data.get("cveMetadata", {}).get("cveId", "")).strip()
    if not cve:
        raise FeedError("record has no cveMetadata.cveId")
    cna = data["containers"].get("cna", {})
    metrics = cna.get("metrics", [])
    word = _v5_word(metrics)
    severity, cvss, source = _rated(word, _metric_scores(metrics), _adp_scores(data["containers"]))
    if severity is None:
        return []
    weakness = ""
    for problem in cna.get("problemTypes", []):
        for desc in problem.get("descriptions", []):
            if _CWE.match(str(desc.get("description", ""))):
                weakness = str(desc["description"])
    affected = (
        (str(item.get("product", "")), _v5_specifiers(item.get("versions", [])))
        for item in cna.get("affected", [])
    )
    return _advisories(
        cve,
        affected,
        override,
        severity=severity,
        word=word,
        timeline=cna.get("timeline", []),
        published=str(data.get("cveMetadata", {}).get("datePublished", "")),
        weakness=weakness,
        cvss=cvss,
        source=source,
    )
