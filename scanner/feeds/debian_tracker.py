"""The Debian Security Tracker's data, in the two layouts it is published in.

- Its JSON (https://security-tracker.debian.org/tracker/data/json): source
  package -> CVE -> `releases` -> codename -> `{status, fixed_version,
  urgency}`. `resolved` with a version is fixed in that version, with "0"
  the release was never affected; `open` is affected and unfixed (`nodsa`
  says why no advisory); `undetermined` says nothing.
- Its `data/DSA/list`, `data/DLA/list` and `data/CVE/list`, one JSON file per
  advisory or CVE as aquasecurity/vuln-list-debian parses them: a `Header`
  (`[01 Jul 2024] DSA-5724-1 openssh - security update`) and `Annotations`,
  the CVEs (`xref`) and one line per release (`[bookworm] - openssh
  1:9.2p1-2+deb12u3`, `<not-affected>`, `<no-dsa>`, `<postponed>` ...).

An advisory (DSA, DLA) is published once and never changes; a CVE record or
the JSON is the tracker's view at the time it was fetched, which may be older
than the fix (kept as a tracker claim, with its `conflict_note` if it has
one). Lines without a release (unstable) are not read: no release to place
them in.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from scanner.feeds.distro import (
    DEBIAN_CODENAMES,
    FeedRecords,
    Filed,
    bounded,
    fail,
)
from scanner.rule_engine.advisories import (
    CVE_ID,
    PACKAGE_NAME,
    Claim,
    ClaimKind,
    ClaimStatus,
    debian_version,
)
from scanner.support.json_files import parse_json

TRACKER = "Debian Security Tracker"
_ADVISORY = re.compile(r"D[SL]A-\d{1,6}-\d{1,3}")
_HEADER_DATE = re.compile(r"^\[(\d{1,2} [A-Z][a-z]{2} \d{4})\]")
# Kinds of a CVE line that mean "affected, no fix in this release".
_OPEN_KINDS = frozenset({"no-dsa", "postponed", "ignored", "unfixed", "end-of-life"})


def parse(path: Path, text: str) -> FeedRecords | None:
    """The claims of a tracker JSON or vuln-list-debian record; None for another feed."""
    if '"Annotations"' in text and '"Header"' in text:
        data = parse_json(text, str(path))
        if isinstance(data, dict) and "Header" in data and "Annotations" in data:
            return _record(path, text, data)
        return None
    if '"releases"' in text:
        data = parse_json(text, str(path))
        if _is_tracker_json(data):
            return _tracker_json(path, text, data)
    return None


def _is_tracker_json(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    return any(
        isinstance(cves, dict)
        and any(isinstance(entry, dict) and "releases" in entry for entry in cves.values())
        for name, cves in data.items()
        if not name.startswith("_")
    )


def _version(path: Path, text: str, value: Any, where: str) -> str:
    if not isinstance(value, str) or debian_version(value) is None:
        shown = bounded(value, 60)
        raise fail(path, text, str(value), f"{where}: {shown!r} is not a Debian package version")
    return value


def _tracker_json(path: Path, text: str, data: dict[str, Any]) -> FeedRecords:
    claims: list[Filed] = []
    for package, cves in data.items():
        if package.startswith("_"):
            continue  # a note on the file (`_meta`), not a package
        if not PACKAGE_NAME.fullmatch(package) or not isinstance(cves, dict):
            raise fail(path, text, package, f"{bounded(package, 60)!r} is not a source package")
        for cve, entry in cves.items():
            if not CVE_ID.fullmatch(cve):
                continue  # TEMP-... ids: no CVE for a rule to name
            releases = entry.get("releases") if isinstance(entry, dict) else None
            if not isinstance(releases, dict):
                raise fail(path, text, cve, f"{package} {cve}: no `releases` object")
            for codename, state in releases.items():
                release = DEBIAN_CODENAMES.get(codename)
                if release is None:
                    continue  # sid, experimental: no stable release
                claim = _tracker_state(path, text, f"{package} {cve} {codename}", release, state)
                if claim is not None:
                    claims.append(Filed("Debian", package, cve, claim))
    return FeedRecords("Debian Security Tracker JSON file", tuple(claims))


def _tracker_state(path: Path, text: str, where: str, release: str, state: Any) -> Claim | None:
    if not isinstance(state, dict) or not isinstance(state.get("status"), str):
        raise fail(path, text, where.split()[1], f"{where}: no `status`")
    status = state["status"]
    evidence = state.get("evidence")
    said = "; ".join(bounded(e) for e in evidence) if isinstance(evidence, list) else ""
    caution = bounded(state.get("conflict_note", ""))
    if status == "resolved":
        fixed = _version(path, text, state.get("fixed_version"), where)
        if fixed == "0":
            return Claim(release, ClaimStatus.NOT_AFFECTED, ClaimKind.TRACKER, TRACKER, note=said)
        return Claim(
            release, ClaimStatus.FIXED, ClaimKind.TRACKER, TRACKER, version=fixed, note=said
        )
    if status == "open":
        reasons = [state.get(k) for k in ("nodsa", "nodsa_reason", "note")]
        urgency = state.get("urgency")
        if isinstance(urgency, str) and urgency and urgency != "not yet assigned":
            reasons.append(f"urgency {urgency}")
        note = "; ".join(bounded(r) for r in reasons if isinstance(r, str) and r)
        return Claim(
            release, ClaimStatus.OPEN, ClaimKind.TRACKER, TRACKER, note=note, caution=caution
        )
    if status == "undetermined":
        return None
    raise fail(path, text, status, f"{where}: unknown status {bounded(status, 40)!r}")


def _record(path: Path, text: str, data: dict[str, Any]) -> FeedRecords:
    header, annotations = data.get("Header"), data.get("Annotations")
    record_id = header.get("ID") if isinstance(header, dict) else None
    if not isinstance(record_id, str) or not isinstance(annotations, list):
        raise fail(path, text, "Header", "a tracker record needs a `Header` with an `ID`")
    if _ADVISORY.fullmatch(record_id):
        original = header.get("Original") if isinstance(header, dict) else ""
        return _advisory(path, text, record_id, str(original or ""), annotations)
    if CVE_ID.fullmatch(record_id):
        return _cve_record(path, text, record_id, annotations)
    raise fail(path, text, record_id, f"{bounded(record_id, 40)!r} is no DSA, DLA or CVE id")


def _package_lines(path: Path, text: str, annotations: list[Any]) -> list[dict[str, Any]]:
    """The release lines of a record, checked: each a package, a release, a kind."""
    lines = []
    for item in annotations:
        if not isinstance(item, dict) or not isinstance(item.get("Type"), str):
            raise fail(path, text, "Annotations", "each annotation needs a `Type`")
        if item["Type"] != "package" or item.get("Release") is None:
            continue
        package, release, kind = item.get("Package"), item.get("Release"), item.get("Kind")
        if not isinstance(package, str) or not PACKAGE_NAME.fullmatch(package):
            raise fail(
                path, text, str(package), f"{bounded(package, 60)!r} is not a source package"
            )
        if not isinstance(release, str) or not isinstance(kind, str):
            raise fail(path, text, package, f"{package}: a release line needs `Release` and `Kind`")
        lines.append(item)
    return lines


def _advisory(
    path: Path, text: str, record_id: str, original: str, annotations: list[Any]
) -> FeedRecords:
    found = _HEADER_DATE.match(original)
    date = ""
    if found:
        try:
            date = dt.datetime.strptime(found.group(1), "%d %b %Y").date().isoformat()
        except ValueError:
            raise fail(
                path, text, original, f"{record_id}: {found.group(1)!r} is no date"
            ) from None
    cves: list[str] = []
    for item in annotations:
        if isinstance(item, dict) and item.get("Type") == "xref":
            bugs = item.get("Bugs")
            if not isinstance(bugs, list):
                raise fail(path, text, "xref", f"{record_id}: `Bugs` is not a list")
            cves += [b for b in bugs if isinstance(b, str) and CVE_ID.fullmatch(b)]
    claims = []
    for item in _package_lines(path, text, annotations):
        release = DEBIAN_CODENAMES.get(item["Release"])
        if release is None:
            continue
        if item["Kind"] == "fixed":
            version = _version(path, text, item.get("Version"), f"{record_id} {item['Release']}")
            claim = Claim(release, ClaimStatus.FIXED, ClaimKind.ADVISORY, record_id, version, date)
        elif item["Kind"] == "not-affected":
            note = bounded(item.get("Description", ""))
            claim = Claim(
                release, ClaimStatus.NOT_AFFECTED, ClaimKind.ADVISORY, record_id, "", date, note
            )
        else:
            continue
        claims += [Filed("Debian", item["Package"], cve, claim) for cve in dict.fromkeys(cves)]
    return FeedRecords(record_id.split("-", 1)[0], tuple(claims), date)


def _cve_record(path: Path, text: str, cve: str, annotations: list[Any]) -> FeedRecords:
    claims = []
    for item in _package_lines(path, text, annotations):
        release = DEBIAN_CODENAMES.get(item["Release"])
        if release is None:
            continue
        kind, note = item["Kind"], bounded(item.get("Description", ""))
        if kind == "fixed":
            version = _version(path, text, item.get("Version"), f"{cve} {item['Release']}")
            claim = Claim(release, ClaimStatus.FIXED, ClaimKind.TRACKER, TRACKER, version)
        elif kind == "not-affected":
            claim = Claim(release, ClaimStatus.NOT_AFFECTED, ClaimKind.TRACKER, TRACKER, note=note)
        elif kind in _OPEN_KINDS:
            said = f"{kind}: {note}" if note else kind
            claim = Claim(release, ClaimStatus.OPEN, ClaimKind.TRACKER, TRACKER, note=said)
        else:
            continue
        claims.append(Filed("Debian", item["Package"], cve, claim))
    return FeedRecords("Debian tracker CVE record", tuple(claims))
