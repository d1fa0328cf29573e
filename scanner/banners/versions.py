"""Normalise the versions servers put in their banners, for `packaging`.

Banners are not PEP 440: `9.2p1` (OpenSSH portable release 1), `1.0.2k`
(OpenSSL letter releases), `5.5.5-10.11.19-MariaDB-0+deb12u1` (MariaDB behind
MySQL's old protocol version), `7.4p1 Debian 10+deb9u7` (a Debian build) and
`9.6.0 or later` (nmap's way of saying it only knows a range). Distribution
builds may carry backported fixes, so their version is a weaker signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

# Distribution builds whose maintainers backport security fixes without
# changing the upstream version.
_DISTROS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Debian", re.compile(r"\bdebian\b|[+~.]deb\d+u?\d*|\braspbian\b", re.I)),
    ("Ubuntu", re.compile(r"ubuntu", re.I)),
    ("CentOS", re.compile(r"\bcentos\b", re.I)),
    ("Red Hat", re.compile(r"red ?hat|\brhel\b|\.el\d+|\bel\d+\b", re.I)),
    ("Fedora", re.compile(r"\bfedora\b|\.fc\d+\b", re.I)),
    ("SUSE", re.compile(r"\bsuse\b|\bsles\b", re.I)),
    ("Amazon Linux", re.compile(r"\bamzn\d*\b|amazon linux", re.I)),
)

_RANGE = re.compile(
    r"\bor (?:later|earlier|newer|older)\b"  # 9.6.0 or later
    r"|^\d[\w.]*\s+-\s+\d"  # 5.0.0 - 5.0.7
    r"|^\d+(?:\.\d+)*\.[x*](?![\w])",  # nmap's wildcard: 2.0.X
    re.I,
)
# MariaDB's own repository builds (10.11.6+maria~deb12) are upstream, not a
# distribution's package with backports.
_UPSTREAM_REPO = re.compile(r"\+maria~\w+", re.I)
_MARIADB = re.compile(r"^(?:5\.5\.5-)?(\d+\.\d+\.\d+)-MariaDB(.*)$", re.I)
_CORE = re.compile(
    r"""^v?
    (?P<release>\d+(?:\.\d+){0,3})
    (?:
        (?P<letter>[a-z])(?![a-z0-9])       # OpenSSL 1.0.2k, ProFTPD 1.3.5b
      | p(?P<patch>\d+)                     # OpenSSH 9.2p1
      | [-.]?(?P<pre>rc|alpha|beta|a|b)\.?(?P<pren>\d*)  # 8.0.0-rc1, 2.3.5-alpha
    )?
    """,
    re.I | re.X,
)


@dataclass(frozen=True)
class BannerVersion:
    """A version read from a banner, and how far it can be trusted."""

    raw: str
    version: Version | None = None
    distro: str | None = None
    is_range: bool = False
    # How many release numbers the banner gave: `2.4` is 2, `2.4.62` is 3.
    components: int = 0
    # Why `distro` is set when the banner itself does not name it (see backports).
    distro_reason: str = ""

    @property
    def known(self) -> bool:
        return self.version is not None

    @property
    def backport_possible(self) -> bool:
        return self.distro is not None

    @property
    def display(self) -> str:
        return str(self.version) if self.version is not None else self.raw


def detect_distro(*texts: str) -> str | None:
    """Name the distribution whose package built this, if the text says."""
    joined = _UPSTREAM_REPO.sub("", " ".join(t for t in texts if t))
    for name, pattern in _DISTROS:
        if pattern.search(joined):
            return name
    return None


def _pep440(match: re.Match[str]) -> str:
    text = match.group("release")
    if match.group("letter"):
        text += f".post{ord(match.group('letter').lower()) - ord('a') + 1}"
    elif match.group("patch"):
        text += f".post{match.group('patch')}"
    elif match.group("pre"):
        pre = match.group("pre").lower()
        tag = {"alpha": "a", "beta": "b"}.get(pre, pre)
        text += f"{tag}{match.group('pren') or 0}"
    return text


def normalise(raw: str, extrainfo: str = "") -> BannerVersion:
    """Read a banner version; `extrainfo` is nmap's extra info, e.g. `(Debian)`."""
    text = raw.strip()
    distro = detect_distro(text, extrainfo)
    if not text:
        return BannerVersion(raw, None, distro)
    if _RANGE.search(text):
        return BannerVersion(raw, None, distro, is_range=True)
    mariadb = _MARIADB.match(text)
    if mariadb:
        text = mariadb.group(1)
    match = _CORE.match(text)
    if not match:
        return BannerVersion(raw, None, distro)
    try:
        version = Version(_pep440(match))
    except InvalidVersion:
        return BannerVersion(raw, None, distro)
    components = match.group("release").count(".") + 1
    return BannerVersion(raw, version, distro, components=components)
