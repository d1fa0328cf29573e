"""How long each release of a distribution gets security fixes, from
endoflife.date's distribution pages (`debian.yaml`, `ubuntu.yaml`).

Two dates a release: the end of regular security support (`eol`) and of
extended support (`eoes`): Debian LTS, free and automatic for every Debian
system, or Ubuntu's Expanded Security Maintenance, which needs an Ubuntu Pro
subscription. The rule engine reads the JSON this writes
(`rules/release-support/<name>-support.json`) to tell a version upstream ended
but a supported release still patches from one nobody patches.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from scanner.support.errors import InputError

# endoflife.date page -> how trustscan names the distribution, and whether
# extended support needs a subscription (and which).
DISTRIBUTIONS: dict[str, tuple[str, str]] = {
    "debian": ("Debian", ""),
    "ubuntu": ("Ubuntu", "Ubuntu Pro"),
}
FORMAT = 1


def is_distribution_page(stem: str, data: Any) -> bool:
    return (
        stem in DISTRIBUTIONS
        and isinstance(data, dict)
        and data.get("category") == "os"
        and isinstance(data.get("releases"), list)
    )


def _date(value: Any, where: str) -> str:
    if value is None or value is False:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    raise InputError(f"{where}: expected a date, got {str(value)[:40]!r}")


def support_data(stem: str, data: dict[str, Any], origin: str, as_of: dt.date) -> dict[str, Any]:
    """The releases and their support dates, as the rule engine reads them."""
    name, subscription = DISTRIBUTIONS[stem]
    releases = []
    for index, item in enumerate(data["releases"]):
        where = f"{origin}: releases[{index}]"
        if not isinstance(item, dict) or not isinstance(
            item.get("releaseCycle"), str | int | float
        ):
            raise InputError(f"{where}: a release needs a releaseCycle")
        releases.append(
            {
                "release": str(item["releaseCycle"]),
                "codename": str(item.get("codename", ""))[:40],
                "released": _date(item.get("releaseDate"), where),
                "eol": _date(item.get("eol"), where),
                "eoes": _date(item.get("eoes"), where),
            }
        )
    return {
        "format": FORMAT,
        "_generated": (
            f"by `trustscan rules import {origin} -o rules/release-support --as-of "
            f"{as_of.isoformat()}` (endoflife.date data); do not edit by hand"
        ),
        "distribution": name,
        "source": f"endoflife.date/{stem} ({data.get('title', name)})",
        "as_of": as_of.isoformat(),
        "regular": str(data.get("eolColumn", "security support")),
        "extended": str(data.get("eoesColumn", "extended support")),
        "extended_needs": subscription,
        "releases": releases,
    }


def render(support: dict[str, Any]) -> str:
    return json.dumps(support, indent=2, ensure_ascii=False) + "\n"
