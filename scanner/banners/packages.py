"""The distribution package a banner names, when it names one.

Some banners carry the package revision, not only the upstream version:
OpenSSH's (`9.2p1 Debian 2+deb12u10` is Debian's openssh 9.2p1-2+deb12u10,
`8.9p1 Ubuntu 3ubuntu0.10` Ubuntu's 8.9p1-3ubuntu0.10) and MariaDB's
(`5.5.5-10.11.19-MariaDB-0+deb12u1` is Debian's mariadb 10.11.19-0+deb12u1).
That revision is what a distribution's advisories compare against. Banners
leave out the epoch (`1:` in `1:9.2p1-2+deb12u10`): the rule engine takes it
from the advisory data, since without it Debian ordering puts every such
package below every fix.

Most banners (`Apache/2.4.52 (Ubuntu)`) name the distribution and no
revision: a `PackageBuild` with an empty `revision`, whose fixes cannot be
told apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The characters of a Debian revision (no epoch, no colon, no hyphen inside
# what nmap splits off), bounded: a banner is the target's words.
_REVISION = r"[0-9][A-Za-z0-9.+~]{0,60}"
_OPENSSH = re.compile(
    r"^(?P<upstream>\d+\.\d+(?:p\d+)?)[ _-]+(?P<distro>Debian|Ubuntu)[ _-]+"
    rf"(?P<revision>{_REVISION})$",
    re.I,
)
# nmap puts the build into extra info for some banners: `Debian 2+deb12u3`.
_EXTRA_BUILD = re.compile(
    rf"^(?P<distro>Debian|Ubuntu)[ _-]+(?P<revision>{_REVISION})(?:;|$)", re.I
)
_MARIADB = re.compile(
    rf"^(?:5\.5\.5-)?(?P<upstream>\d+\.\d+\.\d+)-MariaDB-(?P<revision>{_REVISION})(?:-log)?$",
    re.I,
)
# `+deb12u3`, `~deb12u1`: a stable update of Debian 12.
_DEBIAN_RELEASE = re.compile(r"[+~]deb(\d{1,2})u\d+")
# `0ubuntu0.22.04.1`, `1~22.04.1`: a revision built for one Ubuntu release.
_UBUNTU_RELEASE = re.compile(r"(?:ubuntu0\.|~)(\d{2}\.\d{2})(?:\.\d+)?")
# MariaDB's own repository builds (`+maria~deb12`) are upstream's, not Debian's.
_UPSTREAM_REPO = re.compile(r"\+maria~", re.I)

_DISTROS = ("Debian", "Ubuntu")


@dataclass(frozen=True)
class PackageBuild:
    """A distribution build a banner names: `Debian`, `9.2p1`, `2+deb12u10`, `12`."""

    distro: str
    upstream: str
    revision: str = ""  # empty: the banner names no package revision
    release: str = ""  # the release the revision names (`12`, `22.04`), else empty

    @property
    def version(self) -> str:
        """The package version as the banner shows it, without the epoch."""
        return f"{self.upstream}-{self.revision}" if self.revision else self.upstream


def _distro_of(named: str, revision: str) -> str:
    # nmap reads `OpenSSH_7.6p1 Debian-4ubuntu0.3` (older Ubuntu) as Debian.
    return "Ubuntu" if "ubuntu" in revision.lower() else named.capitalize()


def release_in(distro: str, revision: str) -> str:
    """The release a revision was built for, when it says (`+deb12u3` is 12)."""
    pattern = _DEBIAN_RELEASE if distro == "Debian" else _UBUNTU_RELEASE
    found = pattern.search(revision)
    return found.group(1) if found else ""


def package_build(
    product: str, raw: str, distro: str | None, extrainfo: str = ""
) -> PackageBuild | None:
    """The package build of a product's banner version `raw`, or None for an
    upstream build (no distribution named)."""
    text = raw.strip()
    if product == "openssh":
        found = _OPENSSH.match(text)
        extra = _EXTRA_BUILD.match(extrainfo.strip())
        if found:
            named = _distro_of(found["distro"], found["revision"])
            return _build(named, found["upstream"], found["revision"])
        if extra and re.fullmatch(r"\d+\.\d+(?:p\d+)?", text):
            return _build(_distro_of(extra["distro"], extra["revision"]), text, extra["revision"])
    if product == "mariadb" and not _UPSTREAM_REPO.search(text):
        found = _MARIADB.match(text)
        if found:
            revision = found["revision"]
            maria: str | None = "Ubuntu" if "ubuntu" in revision.lower() else distro
            if maria is None and _DEBIAN_RELEASE.search(revision):
                maria = "Debian"
            if maria is not None:
                return _build(maria, found["upstream"], revision)
    if distro is None:
        return None
    return PackageBuild(distro, _upstream_of(text))


def _build(distro: str, upstream: str, revision: str) -> PackageBuild:
    release = release_in(distro, revision) if distro in _DISTROS else ""
    return PackageBuild(distro, upstream, revision, release)


def _upstream_of(text: str) -> str:
    found = re.match(r"\d+(?:\.\d+)*(?:p\d+|[a-z](?![a-z]))?", text, re.I)
    return found.group(0) if found else text[:40]


def source_packages(product: str, upstream: str) -> tuple[str, ...]:
    """The Debian and Ubuntu source packages a product's fixes are filed under
    (the same names in both): `openssh`; `mariadb` or `mariadb-10.6`."""
    parts = re.match(r"(\d+)(?:\.(\d+))?", upstream)
    major = parts.group(1) if parts else ""
    branch = f"{major}.{parts.group(2)}" if parts and parts.group(2) else major
    named: dict[str, tuple[str, ...]] = {
        "openssh": ("openssh",),
        "mariadb": ("mariadb", f"mariadb-{branch}"),
        "mysql": (f"mysql-{branch}", "mysql"),
        "apache-httpd": ("apache2",),
        "nginx": ("nginx",),
        "openssl": ("openssl",),
        "php": (f"php{branch}",),
        # PostgreSQL names its packages by major version (9.6 before 10).
        "postgresql": (f"postgresql-{major if major.isdigit() and int(major) >= 10 else branch}",),
        "redis": ("redis",),
        "memcached": ("memcached",),
        "exim": ("exim4",),
        "vsftpd": ("vsftpd",),
        "proftpd": ("proftpd-dfsg",),
        "apache-tomcat": (f"tomcat{major}",),
    }
    return named.get(product, ())
