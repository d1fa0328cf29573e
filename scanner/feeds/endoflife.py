"""endoflife.date product pages (their YAML front matter) turned into lifecycle rules.

For each product: one rule for release branches past their end of life as of
the data's date, one for supported branches older than the newest release
of the branch. A version newer than the data knows is never flagged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from scanner.banners.versions import normalise
from scanner.feeds.rule_writer import PRODUCT_NAMES, TRUST, dump_rules

# endoflife.date file stem -> trustscan product id. Apache httpd has
# hand-written rules (they weigh the project's own notice against the data).
PRODUCTS = {
    "nginx": "nginx",
    "php": "php",
    "mysql": "mysql",
    "mariadb": "mariadb",
    "postgresql": "postgresql",
    "redis": "redis",
    "mongodb": "mongodb",
    "elasticsearch": "elasticsearch",
    "tomcat": "apache-tomcat",
    "openssl": "openssl",
    "memcached": "memcached",
    "exim": "exim",
    "proftpd": "proftpd",
}


@dataclass(frozen=True)
class Branch:
    cycle: str
    eol: dt.date | None  # None: no end date announced
    latest: str
    latest_date: str


def is_endoflife_page(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("releases"), list)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def branches(data: dict[str, Any]) -> list[Branch]:
    found = []
    for item in data["releases"]:
        eol = item.get("eol")
        found.append(
            Branch(
                cycle=str(item["releaseCycle"]),
                # `eol: true` without a date: ended, date unknown.
                eol=dt.date.min if eol is True else _date(eol),
                latest=str(item.get("latest", "")),
                latest_date=str(item.get("latestReleaseDate", "")),
            )
        )
    return found


def _pep440(text: str) -> str:
    parsed = normalise(text).version
    return str(parsed) if parsed is not None else text


def _branch_spec(cycle: str) -> str:
    return f"=={_pep440(cycle)}.*"


def _when(date: dt.date | None) -> str:
    return date.isoformat() if date and date != dt.date.min else "(date not given)"


def lifecycle_rules(stem: str, data: dict[str, Any], as_of: dt.date) -> list[dict[str, Any]]:
    product = PRODUCTS[stem]
    name = PRODUCT_NAMES.get(product, product)
    page = f"https://endoflife.date{data.get('permalink', '/' + stem)}"
    references = [page]
    if str(data.get("releasePolicyLink", "")).startswith("https://"):
        references.append(str(data["releasePolicyLink"]))
    at_stake, impact = TRUST[product]
    known = branches(data)
    ended = [b for b in known if b.eol is not None and b.eol <= as_of]
    supported = [b for b in known if b not in ended]
    rules: list[dict[str, Any]] = []
    if ended:
        oldest = min(known, key=lambda b: Version(_pep440(b.cycle)))
        specs = [_branch_spec(b.cycle) for b in ended] + [f"<{_pep440(oldest.cycle)}"]
        facts = "; ".join(
            f"{b.cycle} ended {_when(b.eol)} (last release {b.latest})" for b in ended[:12]
        )
        more = f" and {len(ended) - 12} older branches" if len(ended) > 12 else ""
        rules.append(
            {
                "id": f"{product}-eol",
                "title": f"{name} release branch is end of life and gets no security fixes",
                "severity": "high",
                "category": "end-of-life",
                "data_as_of": as_of.isoformat(),
                "match": {"all": [{"product": product}, {"version": specs}]},
                "description": (
                    f"The server runs a {name} release branch whose maintainers no longer "
                    f"publish fixes for it. Per endoflife.date (data of {as_of.isoformat()}): "
                    f"{facts}{more}. Older branches than {oldest.cycle} ended before that."
                ),
                "remediation": (
                    f"Move to a supported {name} branch "
                    f"({', '.join(b.cycle for b in supported[:4]) or 'see the vendor'}) or a "
                    "distribution package still maintained by its vendor, and plan the upgrade now."
                ),
                "references": references,
                "trust": {"data_at_stake": at_stake, "impact": impact},
            }
        )
    behind = [b for b in supported if b.latest and normalise(b.latest).known]
    if behind:
        specs = [f"{_branch_spec(b.cycle)},<{_pep440(b.latest)}" for b in behind]
        facts = "; ".join(
            f"{b.cycle}: {b.latest}" + (f" ({b.latest_date})" if b.latest_date else "")
            for b in behind
        )
        rules.append(
            {
                "id": f"{product}-outdated",
                "title": f"{name} is older than the newest release of its branch the rule knows",
                "severity": "medium",
                "category": "outdated-software",
                "data_as_of": as_of.isoformat(),
                "match": {"all": [{"product": product}, {"version": specs}]},
                "description": (
                    f"The server runs a supported {name} branch but not its newest release, so it "
                    f"misses fixes published since. Newest releases per branch per endoflife.date "
                    f"(data of {as_of.isoformat()}): {facts}. Versions newer than these are not "
                    "flagged: the data cannot judge them."
                ),
                "remediation": (
                    f"Update {name} to the newest release of its branch and keep it patched."
                ),
                "references": references,
                "trust": {"data_at_stake": at_stake, "impact": impact},
            }
        )
    return rules


def render(rules: Sequence[dict[str, Any]], origin: str) -> str:
    header = (
        f"# Generated by `trustscan rules import` from endoflife.date's {origin}.\n"
        "# Do not edit by hand: change the importer or the data, and import again.\n"
    )
    return header + dump_rules(rules)
