"""Distribution advisory data: what Debian and Ubuntu say of each CVE in their packages.

`trustscan rules import` writes it (from the Debian Security Tracker, DSA/DLA
records, Ubuntu OSV notices, the Ubuntu CVE Tracker and package changelogs)
into `advisories/*.json` beside the rules; never edited by hand. Each file
holds one distribution's claims, per source package and CVE: "fixed in this
version" (with the advisory that says so), "not affected", "open" (affected,
no fix yet) or, from a changelog, "mentioned in this version" (weaker). The
claims are kept as the sources state them, disagreements and all;
`backports` weighs them for one package.

The built-in data is in the rules directory (`rules/advisories/`), read once
per run. Files are read through the hardened JSON reader and checked, each
problem reported with its file and line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debian.debian_support import Version as DebianVersion

from scanner.model import DataSource
from scanner.support.errors import InputError
from scanner.support.files import FileReadError, read_text
from scanner.support.json_files import parse_json
from scanner.support.resources import builtin_rules_dir

if TYPE_CHECKING:
    from scanner.rule_engine.rules import Rule

FORMAT = "trustscan-advisories/1"
ADVISORY_DIR = "advisories"
MAX_ADVISORY_BYTES = 32 * 1024 * 1024
DISTRIBUTIONS = ("Debian", "Ubuntu")

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,7}")
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]{0,99}")
RELEASE_KEY = re.compile(r"\d{1,2}(?:\.\d{2})?")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_TEXT = 2000
_MAX_VERSION = 200


class ClaimStatus(str, Enum):
    FIXED = "fixed"  # fixed in `version` (and every later package of the release)
    NOT_AFFECTED = "not-affected"  # this release's package never had the flaw
    OPEN = "open"  # affected, no fixed package yet (no-dsa, postponed, needed ...)
    MENTIONED = "mentioned"  # a changelog entry of `version` names the CVE


class ClaimKind(str, Enum):
    ADVISORY = "advisory"  # DSA, DLA, USN: published once, never changed
    TRACKER = "tracker"  # the Debian or Ubuntu CVE tracker's status, which changes
    CHANGELOG = "changelog"  # a package changelog: weaker, a mention is not always the fix


@dataclass(frozen=True)
class Claim:
    """What one source says of one CVE in one release's package."""

    release: str
    status: ClaimStatus
    kind: ClaimKind
    source: str  # DSA-5724-1, USN-6859-1, "Debian Security Tracker", "openssh changelog"
    version: str = ""
    date: str = ""
    note: str = ""  # the source's own reason: "no-dsa: Minor issue", "introduced in v8.5p1"
    caution: str = ""  # the source warns its status may be out of date


@dataclass(frozen=True)
class AdvisoryData:
    """The claims of all loaded files: (distribution, source package) -> CVE -> claims."""

    claims: Mapping[tuple[str, str], Mapping[str, tuple[Claim, ...]]] = field(default_factory=dict)
    # (distribution, release) -> codename, for wording: ("Debian", "12") -> "bookworm".
    codenames: Mapping[tuple[str, str], str] = field(default_factory=dict)
    sources: tuple[DataSource, ...] = ()

    def package(self, distro: str, package: str) -> Mapping[str, tuple[Claim, ...]]:
        return self.claims.get((distro, package), {})

    def covers(self, distro: str) -> bool:
        return any(d == distro for d, _ in self.claims)

    def release_name(self, distro: str, release: str) -> str:
        codename = self.codenames.get((distro, release))
        return f"{distro} {release}" + (f" ({codename})" if codename else "")


@lru_cache(maxsize=8192)
def debian_version(text: str) -> DebianVersion | None:
    """A Debian package version, or None when `text` is not one (cached: the
    same versions are compared for every service of a scan; never mutated)."""
    if not text or len(text) > _MAX_VERSION or any(c.isspace() for c in text):
        return None
    try:
        return DebianVersion(text)
    except ValueError:
        return None


def line_of_string(text: str, value: str, after: Sequence[str] = ()) -> int:
    """The line of the first JSON string in `text` equal to `value` that comes
    after the strings `after`, in their order (the keys leading to it); 1 when
    there is none. The reader gives data without positions, and an error must
    name its line."""
    wanted = [*after, value]
    for token in re.finditer(r'"(?:[^"\\\n]|\\.)*"', text):
        try:
            if json.loads(token.group()) != wanted[0]:
                continue
        except json.JSONDecodeError:
            continue
        wanted.pop(0)
        if not wanted:
            return text.count("\n", 0, token.start()) + 1
    return 1


class _Checker:
    """Checks one data file, each problem an InputError with the file and line.
    `where` is the keys leading to the problem (package, CVE, one "release"
    per claim up to the one at fault), `near` the string to point at."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.text = path, text

    def fail(self, where: Sequence[str], problem: str, near: str = "") -> InputError:
        line = line_of_string(self.text, near, where) if near else 1
        shown = ".".join(w for w in where if w != "release") or "file"
        return InputError(f"{self.path}:{line}: {shown}: {problem}")

    def text_field(
        self, data: Mapping[str, Any], key: str, where: Sequence[str], required: bool
    ) -> str:
        value = data.get(key, "")
        if not isinstance(value, str) or len(value) > _MAX_TEXT or (required and not value):
            raise self.fail(where, f"`{key}` must be a text of at most {_MAX_TEXT} characters", key)
        return value


def _read(path: Path) -> AdvisoryData:
    try:
        text = read_text(path, MAX_ADVISORY_BYTES, "advisory data")
    except FileReadError as exc:
        raise InputError(str(exc)) from None
    data = parse_json(text, str(path))
    check = _Checker(path, text)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise check.fail((), f'not trustscan advisory data (no "format": "{FORMAT}")')
    distro = data.get("distribution")
    if distro not in DISTRIBUTIONS:
        raise check.fail(
            ("distribution",), f"must be one of {', '.join(DISTRIBUTIONS)}", "distribution"
        )
    releases = data.get("releases")
    if not isinstance(releases, dict) or not all(
        isinstance(k, str) and RELEASE_KEY.fullmatch(k) and isinstance(v, str) and len(v) < 40
        for k, v in releases.items()
    ):
        raise check.fail(("releases",), "must map release numbers to codenames", "releases")
    source = DataSource(
        name=check.text_field(data, "name", (), required=True),
        as_of=check.text_field(data, "as_of", (), required=False),
        coverage=check.text_field(data, "coverage", (), required=True),
        update=check.text_field(data, "update", (), required=False),
    )
    packages = data.get("packages")
    if not isinstance(packages, dict):
        raise check.fail(("packages",), "must map source packages to CVEs", "packages")
    claims: dict[tuple[str, str], dict[str, tuple[Claim, ...]]] = {}
    for package, cves in packages.items():
        if not PACKAGE_NAME.fullmatch(package) or not isinstance(cves, dict):
            raise check.fail(("packages",), f"{package[:60]!r}: not a source package", package)
        into = claims.setdefault((distro, package), {})
        for cve, items in cves.items():
            if not CVE_ID.fullmatch(cve) or not isinstance(items, list) or not items:
                raise check.fail((package,), "not a CVE id with a list of claims", cve)
            into[cve] = tuple(
                _claim(check, (package, cve, *["release"] * (index + 1)), item, releases)
                for index, item in enumerate(items)
            )
    codenames = {(distro, k): v for k, v in releases.items()}
    return AdvisoryData(claims, codenames, (source,))


def _claim(check: _Checker, where: Sequence[str], item: Any, releases: Mapping[str, str]) -> Claim:
    if not isinstance(item, dict):
        raise check.fail(where[:2], "a claim must be an object", where[1])
    release = item.get("release")
    if release not in releases:
        raise check.fail(where, f"release {str(release)[:20]!r} is not in `releases`", str(release))
    try:
        status = ClaimStatus(item.get("status"))
    except ValueError:
        raise check.fail(where, "unknown `status`", str(item.get("status"))) from None
    try:
        kind = ClaimKind(item.get("kind"))
    except ValueError:
        raise check.fail(where, "unknown `kind`", str(item.get("kind"))) from None
    version = check.text_field(item, "version", where, required=False)
    if status in (ClaimStatus.FIXED, ClaimStatus.MENTIONED) and debian_version(version) is None:
        near = version or str(item.get("status"))
        raise check.fail(where, f"{version[:60]!r} is not a Debian package version", near)
    date = check.text_field(item, "date", where, required=False)
    if date and not DATE.fullmatch(date):
        raise check.fail(where, f"date {date[:20]!r} is not YYYY-MM-DD", date)
    return Claim(
        release=str(release),
        status=status,
        kind=kind,
        source=check.text_field(item, "source", where, required=True),
        version=version,
        date=date,
        note=check.text_field(item, "note", where, required=False),
        caution=check.text_field(item, "caution", where, required=False),
    )


def merge(parts: Iterable[AdvisoryData]) -> AdvisoryData:
    claims: dict[tuple[str, str], dict[str, tuple[Claim, ...]]] = {}
    codenames: dict[tuple[str, str], str] = {}
    sources: list[DataSource] = []
    for part in parts:
        for key, cves in part.claims.items():
            into = claims.setdefault(key, {})
            for cve, found in cves.items():
                into[cve] = into.get(cve, ()) + found
        codenames.update(part.codenames)
        sources.extend(part.sources)
    return AdvisoryData(claims, codenames, tuple(sources))


def load_dir(directory: Path) -> AdvisoryData:
    """Every `*.json` data file in `directory` (none: no data)."""
    if not directory.is_dir():
        return AdvisoryData()
    return merge(_read(path) for path in sorted(directory.glob("*.json")))


@lru_cache(maxsize=1)
def builtin_advisories() -> AdvisoryData:
    """The data shipped with the rules (`rules/advisories/`), read once."""
    return load_dir(builtin_rules_dir() / ADVISORY_DIR)


def advisory_sources(rules: Iterable[Rule]) -> tuple[DataSource, ...]:
    """The built-in data's sources, when they judged the result: some rule names
    a CVE (only known vulnerabilities are weighed against advisories)."""
    if not any(rule.vulnerability is not None for rule in rules):
        return ()
    return builtin_advisories().sources
