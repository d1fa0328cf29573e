"""Debian package changelogs (`/usr/share/doc/PACKAGE/changelog.Debian.gz`).

Each entry names a version, the suite it was uploaded to and, often, the CVEs
it fixed (`* CVE-2024-6387: ...`). A package's changelog carries its whole
history, so the newest entry says which release the package is built for
(`bookworm-security`, or a `+deb12u3` version) and every older entry is part
of that package too. For each CVE the oldest entry naming it is recorded as
"mentioned in this version".

That is weaker evidence than an advisory, and the claims say so: an entry may
name a CVE only as background (php8.2's 8.2.20-1~deb12u1 cites CVE-2012-1823
as the bug CVE-2024-4577 bypasses), and a fix may name no CVE at all
(openssh's 1:9.2p1-2+deb12u3 fixed regreSSHion, CVE-2024-6387, in words).

The file is decompressed with a bound (a small gzip can expand without end)
and read strictly: a line that is neither an entry's header, its text nor its
closing line is an error with its line number.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from email.utils import parsedate_to_datetime
from pathlib import Path

from scanner.feeds.distro import FeedRecords, Filed, bounded, release_of_codename
from scanner.rule_engine.advisories import (
    CVE_ID,
    PACKAGE_NAME,
    Claim,
    ClaimKind,
    ClaimStatus,
    debian_version,
)
from scanner.support.errors import InputError
from scanner.support.files import read_bytes

# A changelog runs to a few MB at most (openssh's is 0.2 MB unpacked).
MAX_UNPACKED = 16 * 1024 * 1024
_HEADER = re.compile(
    r"(?P<source>[a-z0-9][a-z0-9+.-]*) \((?P<version>[^ ()]+)\) (?P<suites>[^;]+);(?P<rest>.*)"
)
_TRAILER = re.compile(r" -- (?P<who>.*?)  (?P<date>\S.*)")
# Where the entries end: what follows is notes, not entries (Emacs settings,
# a pre-Debian history).
_END = re.compile(r"(local variables:|old changelog:)", re.I)
# debhelper's note where it trimmed the changelog ("# Older entries have been
# removed from this changelog."): a comment, not an entry.
_COMMENT = "#"
_RELEASE_IN_VERSION = re.compile(r"[+~]deb(\d{1,2})u\d+")


class _Entry:
    def __init__(self, source: str, version: str, suites: str, line: int) -> None:
        self.source, self.version, self.suites, self.line = source, version, suites, line
        self.cves: list[str] = []
        self.date = ""


def _text(path: Path, max_bytes: int) -> str:
    packed = read_bytes(path, max_bytes, "changelog")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(packed)) as unpacking:
            data = unpacking.read(MAX_UNPACKED + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: not a gzip-compressed changelog ({exc})") from None
    if len(data) > MAX_UNPACKED:
        raise InputError(f"{path}: unpacks to more than {MAX_UNPACKED} bytes: not a changelog")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: the changelog is not UTF-8 text") from None


def _day(text: str) -> str:
    try:
        return parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return ""


def entries(path: Path, text: str) -> list[_Entry]:
    """The changelog's entries, newest first; an InputError at the first line
    that belongs to none."""
    found: list[_Entry] = []
    current: _Entry | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.fullmatch(line)
        if header:
            version = header["version"]
            if debian_version(version) is None:
                raise InputError(
                    f"{path}:{number}: {bounded(version, 60)!r} is not a package version"
                )
            current = _Entry(header["source"], version, header["suites"].strip(), number)
            found.append(current)
        elif line.startswith(" -- ") and current is not None:
            trailer = _TRAILER.fullmatch(line)
            if trailer is None:
                raise InputError(f"{path}:{number}: an entry's closing line without a date")
            current.date = _day(trailer["date"])
        elif not line.strip() or line[0].isspace():
            if current is None:
                if line.strip():
                    raise InputError(f"{path}:{number}: text before the first entry")
                continue
            current.cves += CVE_ID.findall(line)
        elif line.startswith(_COMMENT):
            continue
        elif _END.match(line) and found:
            break
        else:
            raise InputError(f"{path}:{number}: not a changelog line: {bounded(line, 60)!r}")
    if not found:
        raise InputError(f"{path}: holds no changelog entry")
    return found


def _release(newest: _Entry) -> tuple[str, str] | None:
    """(distribution, release) the package is built for, by its newest entry."""
    for suite in newest.suites.split():
        known = release_of_codename(suite)
        if known is not None:
            return known
    in_version = _RELEASE_IN_VERSION.search(newest.version)
    return ("Debian", in_version.group(1)) if in_version else None


def parse(path: Path, max_bytes: int) -> FeedRecords:
    """The CVEs a changelog names, each at the oldest version naming it. A
    changelog whose newest entry names no release (`unstable`) gives none:
    there is no release to file them under."""
    text = _text(path, max_bytes)
    found = entries(path, text)
    newest = found[0]
    if not PACKAGE_NAME.fullmatch(newest.source):
        raise InputError(f"{path}:{newest.line}: {newest.source!r} is not a source package")
    placed = _release(newest)
    if placed is None:
        return FeedRecords("package changelog", ())
    distro, release = placed
    first: dict[str, _Entry] = {}
    for entry in found:  # newest first: the last entry seen is the oldest
        for cve in entry.cves:
            first[cve] = entry
    source = f"{distro} changelog of {newest.source}"
    claims = tuple(
        Filed(
            distro,
            newest.source,
            cve,
            Claim(
                release,
                ClaimStatus.MENTIONED,
                ClaimKind.CHANGELOG,
                source,
                entry.version,
                entry.date,
                f"entry for {entry.suites}",
            ),
        )
        for cve, entry in first.items()
    )
    return FeedRecords("package changelog", claims, newest.date)
