"""Ubuntu's security data: its notices as OSV records, and its CVE Tracker.

- A Ubuntu Security Notice in OSV (canonical/ubuntu-security-notices,
  `osv/usn/USN-*.json`): the CVEs it fixes (`upstream`: `UBUNTU-CVE-…`) and,
  per release (`package.ecosystem`: `Ubuntu:22.04:LTS`, `Ubuntu:Pro:18.04:LTS`),
  the source package and the version that fixed them (`ranges[].events`
  `fixed`). Newer records say which of the CVEs apply to each release
  (`database_specific.cves_map`); a CVE left out of a release's map, or a
  release left out of the notice, is no statement at all (the notice may
  predate the release): nothing is recorded for it.
- A Ubuntu CVE Tracker record, as aquasecurity/vuln-list converts it
  (`ubuntu/YYYY/CVE-*.json`): per source package and release codename a
  status: `released` with its version, `not-affected`, or still open
  (`needed`, `deferred`, `ignored` ...). It holds what OSV leaves out.

Ubuntu Pro (ESM) builds continue their release (`+esm` versions); FIPS
builds are another line of packages and are not read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scanner.feeds import iso_date
from scanner.feeds.distro import (
    UBUNTU_CODENAMES,
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

CVE_TRACKER = "Ubuntu CVE Tracker"
_USN = re.compile(r"USN-\d{1,6}-\d{1,3}")
_ECOSYSTEM = re.compile(r"Ubuntu:(?:Pro:)?(\d{2}\.\d{2})(?::LTS)?")
# CVE Tracker release keys: `jammy`, `esm-infra/focal`, `trusty/esm`.
_TRACKER_RELEASE = re.compile(r"(?:esm-(?:infra|apps|infra-legacy)/)?([a-z]+)(?:/esm)?")
_OPEN = frozenset({"needed", "needs-triage", "deferred", "pending", "active", "ignored"})


def parse(path: Path, text: str) -> FeedRecords | None:
    """The claims of a USN (OSV) or CVE Tracker record; None for another feed."""
    if '"USN-' in text and '"affected"' in text:
        data = parse_json(text, str(path))
        if isinstance(data, dict) and _USN.fullmatch(str(data.get("id", ""))):
            return _notice(path, text, data)
    if '"Candidate"' in text and '"Patches"' in text:
        data = parse_json(text, str(path))
        if isinstance(data, dict) and "Candidate" in data and "Patches" in data:
            return _tracker(path, text, data)
    return None


def _cves_of(data: dict[str, Any]) -> list[str]:
    named = [*data.get("upstream", ()), *data.get("aliases", ())]
    found = [str(n).removeprefix("UBUNTU-") for n in named if isinstance(n, str)]
    return list(dict.fromkeys(c for c in found if CVE_ID.fullmatch(c)))


def _notice(path: Path, text: str, data: dict[str, Any]) -> FeedRecords:
    usn = str(data["id"])
    affected = data.get("affected")
    if not isinstance(affected, list) or not all(
        isinstance(data.get(k, []), list) for k in ("upstream", "aliases")
    ):
        raise fail(path, text, usn, f"{usn}: `affected`, `upstream` and `aliases` must be lists")
    cves = _cves_of(data)
    date = iso_date(str(data.get("published", "")))
    claims = []
    for item in affected:
        package = item.get("package") if isinstance(item, dict) else None
        if not isinstance(package, dict):
            raise fail(path, text, usn, f"{usn}: an `affected` entry has no `package`")
        ecosystem, name = str(package.get("ecosystem", "")), package.get("name")
        found = _ECOSYSTEM.fullmatch(ecosystem)
        if found is None:
            continue  # FIPS builds, or not Ubuntu
        if not isinstance(name, str) or not PACKAGE_NAME.fullmatch(name):
            raise fail(
                path, text, str(name), f"{usn}: {bounded(name, 60)!r} is not a source package"
            )
        for fixed in _fixed_versions(path, text, usn, item):
            for cve in _release_cves(path, text, usn, item, cves):
                claim = Claim(
                    found.group(1), ClaimStatus.FIXED, ClaimKind.ADVISORY, usn, fixed, date
                )
                claims.append(Filed("Ubuntu", name, cve, claim))
    modified = iso_date(str(data.get("modified", ""))) or date
    return FeedRecords("USN", tuple(claims), modified)


def _fixed_versions(path: Path, text: str, usn: str, item: dict[str, Any]) -> list[str]:
    ranges = item.get("ranges", [])
    if not isinstance(ranges, list):
        raise fail(path, text, "ranges", f"{usn}: `ranges` is not a list")
    versions = []
    for rng in ranges:
        events = rng.get("events") if isinstance(rng, dict) else None
        if not isinstance(events, list):
            raise fail(path, text, "events", f"{usn}: a range has no `events` list")
        for event in events:
            if isinstance(event, dict) and "fixed" in event:
                fixed = event["fixed"]
                if not isinstance(fixed, str) or debian_version(fixed) is None:
                    raise fail(
                        path,
                        text,
                        str(fixed),
                        f"{usn}: {bounded(fixed, 60)!r} is not a package version",
                    )
                versions.append(fixed)
    return versions


def _release_cves(
    path: Path, text: str, usn: str, item: dict[str, Any], cves: list[str]
) -> list[str]:
    """The notice's CVEs that apply to this release: its `cves_map` when it has one."""
    specific = item.get("database_specific")
    mapping = specific.get("cves_map") if isinstance(specific, dict) else None
    if mapping is None:
        return cves
    listed = mapping.get("cves") if isinstance(mapping, dict) else None
    if not isinstance(listed, list):
        raise fail(path, text, "cves_map", f"{usn}: `cves_map` has no `cves` list")
    ids = [entry.get("id") for entry in listed if isinstance(entry, dict)]
    return [i for i in ids if isinstance(i, str) and CVE_ID.fullmatch(i)]


def _tracker(path: Path, text: str, data: dict[str, Any]) -> FeedRecords:
    cve, patches = data.get("Candidate"), data.get("Patches")
    if not isinstance(cve, str) or not CVE_ID.fullmatch(cve) or not isinstance(patches, dict):
        raise fail(
            path, text, "Candidate", "a CVE Tracker record needs a CVE `Candidate` and `Patches`"
        )
    claims = []
    for package, releases in patches.items():
        if not PACKAGE_NAME.fullmatch(package) or not isinstance(releases, dict):
            raise fail(
                path, text, package, f"{cve}: {bounded(package, 60)!r} is not a source package"
            )
        for key, state in releases.items():
            found = _TRACKER_RELEASE.fullmatch(key)
            release = UBUNTU_CODENAMES.get(found.group(1)) if found else None
            if release is None:
                continue  # devel, upstream, fips/...: no release a banner is from
            if not isinstance(state, dict) or not isinstance(state.get("Status"), str):
                raise fail(path, text, key, f"{cve} {package} {key}: no `Status`")
            claim = _tracker_claim(release, state["Status"], bounded(state.get("Note", "")))
            if claim is not None:
                claims.append(Filed("Ubuntu", package, cve, claim))
    return FeedRecords("Ubuntu CVE Tracker record", tuple(claims))


def _tracker_claim(release: str, status: str, note: str) -> Claim | None:
    if status == "released":
        if debian_version(note) is None:
            return None  # released, but the record does not say in what
        return Claim(release, ClaimStatus.FIXED, ClaimKind.TRACKER, CVE_TRACKER, note)
    if status == "not-affected":
        return Claim(release, ClaimStatus.NOT_AFFECTED, ClaimKind.TRACKER, CVE_TRACKER, note=note)
    if status in _OPEN:
        said = f"{status}: {note}" if note else status
        return Claim(release, ClaimStatus.OPEN, ClaimKind.TRACKER, CVE_TRACKER, note=said)
    return None  # DNE (no such package there), needs-triage upstream and the like
