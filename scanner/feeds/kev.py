"""CISA's Known Exploited Vulnerabilities catalogue (KEV), turned into rule data.

The catalogue (https://www.cisa.gov/known-exploited-vulnerabilities-catalog,
`known_exploited_vulnerabilities.json`) lists the CVEs CISA has evidence of
attackers using. It is no rule: it says nothing of versions. `trustscan rules
import` writes what the rule engine needs of it to `known-exploited.json`
(per CVE: when CISA listed it, when US federal agencies had to have fixed it,
whether ransomware campaigns use it; and the catalogue's version and date),
and `scanner.rule_engine.exploited` marks every CVE rule it lists.

The catalogue is checked as its JSON Schema (published beside it) requires,
without shipping the schema: the required keys, `CVE-YYYY-NNNN` ids and
YYYY-MM-DD dates. A problem names the file and the line of the entry.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.support.atomic import write_text_atomic
from scanner.support.errors import InputError

CATALOG_URL = "https://www.cisa.gov/known-exploited-vulnerabilities-catalog"
DATA_FILE = "known-exploited.json"
# The data file's own format, for the reader to refuse a file it does not know.
DATA_FORMAT = "trustscan-kev/1"
_TITLE = "CISA Catalog of Known Exploited Vulnerabilities"
_CVE = re.compile(r"CVE-(\d{4})-(\d{4,19})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A catalogue version, a ransomware word: short, printable words, never text
# that could change what a report says around it.
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}")
_REQUIRED = (
    "cveID",
    "vendorProject",
    "product",
    "vulnerabilityName",
    "dateAdded",
    "shortDescription",
    "requiredAction",
    "dueDate",
)


@dataclass(frozen=True)
class Exploited:
    """One catalogue entry, as far as trustscan uses it."""

    cve: str
    added: str  # dateAdded, YYYY-MM-DD
    due: str  # dueDate, YYYY-MM-DD
    ransomware: str  # knownRansomwareCampaignUse: "Known", "Unknown" or ""


@dataclass(frozen=True)
class Catalog:
    version: str  # catalogVersion, e.g. 2025.08.25
    released: str  # the day of dateReleased
    entries: tuple[Exploited, ...]


def may_be_kev(text: str) -> bool:
    """Whether a feed file's text could be the catalogue or its schema: a cheap
    test before parsing, so that other feeds are not parsed twice."""
    return '"catalogVersion"' in text


def is_kev_catalog(data: Any) -> bool:
    return isinstance(data, dict) and "catalogVersion" in data and "vulnerabilities" in data


def is_kev_schema(data: Any) -> bool:
    """The catalogue's JSON Schema, published beside it: nothing to import."""
    return (
        isinstance(data, dict)
        and "$schema" in data
        and data.get("title") == _TITLE
        and isinstance(data.get("properties"), dict)
    )


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _entry_spans(text: str) -> list[tuple[int, int]]:
    """Where each item of the top-level `vulnerabilities` array starts and
    ends in `text`, which is known to parse. Only used to name a line."""
    decoder = json.JSONDecoder()
    spans: list[tuple[int, int]] = []
    pos = _skip_space(text, 1 if text.startswith("\ufeff") else 0)
    if not text.startswith("{", pos):
        return spans
    pos = _skip_space(text, pos + 1)
    while pos < len(text) and text[pos] == '"':
        key, pos = decoder.raw_decode(text, pos)
        pos = _skip_space(text, _skip_space(text, pos) + 1)  # past the colon
        if key == "vulnerabilities" and text.startswith("[", pos):
            # The last of repeated keys is the one json.loads keeps.
            spans = []
            pos = _skip_space(text, pos + 1)
            while pos < len(text) and text[pos] != "]":
                _, end = decoder.raw_decode(text, pos)
                spans.append((pos, end))
                pos = _skip_space(text, end)
                pos = _skip_space(text, pos + 1) if text.startswith(",", pos) else pos
            pos += 1
        else:
            _, pos = decoder.raw_decode(text, pos)
        pos = _skip_space(text, pos)
        pos = _skip_space(text, pos + 1) if text.startswith(",", pos) else pos
    return spans


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _top_line(text: str, key: str) -> int:
    """The line of a top-level key (its first mention), or 0 for the file."""
    found = text.find(json.dumps(key))
    return _line_at(text, found) if found >= 0 else 0


class _Problem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _date(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise _Problem(key, f"{key} is {_shown(value)}, not a YYYY-MM-DD date")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise _Problem(key, f"{key} {value!r} is no calendar day") from None
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _entry(entry: Any) -> Exploited:
    if not isinstance(entry, dict):
        raise _Problem("", f"an entry is {_shown(entry)}, not an object")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        # The line of its id, when it has one, names the entry best.
        raise _Problem("cveID" if "cveID" in entry else "", f"an entry has no {', '.join(missing)}")
    cve = entry["cveID"]
    if not isinstance(cve, str) or not _CVE.fullmatch(cve):
        raise _Problem("cveID", f"cveID {_shown(cve)} is not a CVE id (CVE-YYYY-NNNN)")
    ransomware = entry.get("knownRansomwareCampaignUse", "")
    if not isinstance(ransomware, str) or (ransomware and not _WORD.fullmatch(ransomware)):
        raise _Problem(
            "knownRansomwareCampaignUse",
            f"knownRansomwareCampaignUse is {_shown(ransomware)}, not a word such as Known",
        )
    return Exploited(cve, _date(entry, "dateAdded"), _date(entry, "dueDate"), ransomware)


def parse_catalog(data: Any, text: str, origin: str) -> Catalog:
    """The catalogue in `data` (parsed from `text`, read from `origin`), checked;
    an InputError naming origin and line for anything the schema refuses."""
    if not is_kev_catalog(data):
        raise InputError(
            f"{origin}: not CISA's KEV catalogue (no catalogVersion and vulnerabilities)"
        )
    version = data["catalogVersion"]
    if not isinstance(version, str) or not _WORD.fullmatch(version):
        raise InputError(
            f"{origin}:{_top_line(text, 'catalogVersion')}: catalogVersion is "
            f"{_shown(version)}, not a version such as 2025.08.25"
        )
    released = data.get("dateReleased")
    day = released[:10] if isinstance(released, str) else ""
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise InputError(
            f"{origin}:{_top_line(text, 'dateReleased')}: dateReleased is {_shown(released)}, "
            "not a date and time such as 2025-08-25T17:04:19Z"
        ) from None
    items = data["vulnerabilities"]
    if not isinstance(items, list):
        raise InputError(
            f"{origin}:{_top_line(text, 'vulnerabilities')}: vulnerabilities is not a list"
        )
    entries: list[Exploited] = []
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        try:
            entry = _entry(item)
            if entry.cve in first:
                raise _Problem(
                    "cveID", f"{entry.cve} is listed twice (first as entry {first[entry.cve]})"
                )
        except _Problem as problem:
            line = _entry_line(text, index, problem.field)
            where = f"{origin}:{line}" if line else origin
            raise InputError(f"{where}: vulnerabilities[{index}]: {problem.message}") from None
        first[entry.cve] = index
        entries.append(entry)
    count = data.get("count")
    if count != len(entries) or isinstance(count, bool):
        # A catalogue cut short or edited: what it lacks cannot be told.
        raise InputError(
            f"{origin}:{_top_line(text, 'count')}: count is {_shown(count)} but the catalogue "
            f"lists {len(entries)} vulnerabilities"
        )
    return Catalog(version, day, tuple(entries))


def _entry_line(text: str, index: int, field: str) -> int:
    spans = _entry_spans(text)
    if index >= len(spans):
        return 0
    start, end = spans[index]
    found = text.find(json.dumps(field), start, end) if field else -1
    return _line_at(text, found if found >= 0 else start)


def _cve_order(entry: Exploited) -> tuple[int, int]:
    """CVE-2021-4034 before CVE-2021-41773: by year, then number."""
    _, year, number = entry.cve.split("-")
    return int(year), int(number)


def render(catalog: Catalog, origin: str) -> str:
    """The data file: the catalogue's version and date, then one CVE a line,
    in CVE order, so that a new catalogue shows as a readable diff."""
    origin = "".join(ch if ch.isprintable() else "?" for ch in origin)
    head = {
        "format": DATA_FORMAT,
        "generated": (
            f"by `trustscan rules import` from {origin}. Do not edit by hand: "
            "import a newer catalogue instead."
        ),
        "source": f"CISA's Known Exploited Vulnerabilities catalogue, {CATALOG_URL}",
        "catalog_version": catalog.version,
        "date_released": catalog.released,
        "count": len(catalog.entries),
    }
    lines = ["{"]
    lines += [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in head.items()]
    rows = [
        f"    {json.dumps(e.cve)}: "
        + json.dumps({"added": e.added, "due": e.due, "ransomware": e.ransomware})
        for e in sorted(catalog.entries, key=_cve_order)
    ]
    lines += ['  "vulnerabilities": {', ",\n".join(rows), "  }", "}"]
    return "\n".join(line for line in lines if line) + "\n"


def import_catalog(data: Any, text: str, path: Path, out_dir: Path) -> Catalog:
    """Check the catalogue read from `path` and write `out_dir/known-exploited.json`."""
    catalog = parse_catalog(data, text, str(path))
    out_dir.mkdir(parents=True, exist_ok=True)
    # The name is ours, not the feed's: it cannot lead out of out_dir, and an
    # atomic write replaces a symbolic link there instead of following it.
    write_text_atomic(out_dir / DATA_FILE, render(catalog, path.name))
    return catalog
