"""Which distribution release a host runs, and whether anyone still patches it.

A distribution keeps one upstream version for a release's life and backports
fixes into it: nginx 1.22.1 on Debian 12 is patched by Debian although nginx
ended 1.22 in 2023. What matters then is the release's own support: regular
security support, then extended support (Debian LTS, free; Ubuntu's ESM, only
with Ubuntu Pro), then nothing.

The release comes from the host's banners: a package revision that names it
(`9.2p1 Debian 2+deb12u10` is Debian 12), or a version that exactly one
release ships (`rules/distributions/*.json`). The dates come from
`rules/release-support/*.json` (endoflife.date's distribution pages, made by
`trustscan rules import`). The result is two host observations that rules
match: `host.distribution` (`Debian 12`) and `host.distribution_support`
(supported | extended | subscription-only | ended).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

from scanner.banners.packages import package_build
from scanner.banners.products import identify
from scanner.model import DataSource, Host, Observation
from scanner.rule_engine.backports import ShippedVersions, builtin_shipped
from scanner.support.errors import InputError
from scanner.support.json_files import load_json
from scanner.support.resources import builtin_rules_dir

PROBE = "distribution"
_MAX_BYTES = 1024 * 1024
_RELEASE_NAME = re.compile(r"^(?P<distro>[A-Za-z]+) (?P<release>\d+(?:\.\d+)?)\b")


class SupportState(str, Enum):
    SUPPORTED = "supported"  # regular security support
    EXTENDED = "extended"  # extended support anyone gets (Debian LTS)
    SUBSCRIPTION_ONLY = "subscription-only"  # extended support for subscribers only
    ENDED = "ended"  # no security fixes at all


@dataclass(frozen=True)
class ReleaseSupport:
    distribution: str
    release: str
    codename: str
    eol: dt.date | None  # end of regular security support
    eoes: dt.date | None  # end of extended support
    regular: str  # what the regular support is called ("Debian Security Support")
    extended: str  # what the extended support is called ("Debian LTS")
    extended_needs: str  # a subscription it needs ("Ubuntu Pro"), or ""
    source: str
    as_of: str

    @property
    def name(self) -> str:
        return f"{self.distribution} {self.release}"

    def state(self, today: dt.date) -> SupportState:
        if self.eol is None or today <= self.eol:
            return SupportState.SUPPORTED
        if self.eoes is None or today > self.eoes:
            return SupportState.ENDED
        return SupportState.SUBSCRIPTION_ONLY if self.extended_needs else SupportState.EXTENDED

    def until(self, today: dt.date) -> dt.date | None:
        """The last day of the support the release has today."""
        state = self.state(today)
        if state is SupportState.SUPPORTED:
            return self.eol
        return self.eoes if state is not SupportState.ENDED else None

    def describe(self) -> str:
        parts = [f"{self.regular} until {self.eol}" if self.eol else f"{self.regular}: no end set"]
        if self.eoes:
            needs = f" (with {self.extended_needs})" if self.extended_needs else ""
            parts.append(f"{self.extended}{needs} until {self.eoes}")
        codename = f" ({self.codename})" if self.codename else ""
        return f"{self.name}{codename}: {'; '.join(parts)} ({self.source}, data of {self.as_of})"


@dataclass(frozen=True)
class SupportData:
    releases: dict[tuple[str, str], ReleaseSupport]

    def lookup(self, distribution: str, release: str) -> ReleaseSupport | None:
        return self.releases.get((distribution.lower(), release))


def _date(value: object, origin: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{origin}: {str(value)[:20]!r} is not a date") from None


def _read(path: Path) -> list[ReleaseSupport]:
    data = load_json(path, what="release support data", max_bytes=_MAX_BYTES)
    if not isinstance(data, dict) or not isinstance(data.get("releases"), list):
        raise InputError(f"{path}: not trustscan release support data (no releases list)")
    found = []
    for item in data["releases"]:
        if not isinstance(item, dict) or not item.get("release"):
            raise InputError(f"{path}: a release without its name")
        found.append(
            ReleaseSupport(
                distribution=str(data.get("distribution", "")),
                release=str(item["release"]),
                codename=str(item.get("codename", "")),
                eol=_date(item.get("eol"), str(path)),
                eoes=_date(item.get("eoes"), str(path)),
                regular=str(data.get("regular", "security support")),
                extended=str(data.get("extended", "extended support")),
                extended_needs=str(data.get("extended_needs", "")),
                source=str(data.get("source", path.name)),
                as_of=str(data.get("as_of", "")),
            )
        )
    return found


def load_support(directory: Path) -> SupportData:
    releases = {
        (r.distribution.lower(), r.release): r
        for path in sorted(directory.glob("*-support.json"))
        for r in _read(path)
    }
    return SupportData(releases)


@lru_cache(maxsize=1)
def builtin_support() -> SupportData:
    return load_support(builtin_rules_dir() / "release-support")


def support_sources(data: SupportData | None = None) -> tuple[DataSource, ...]:
    """Where the release support dates come from, per distribution."""
    data = data if data is not None else builtin_support()
    by_distro: dict[str, list[ReleaseSupport]] = {}
    for release in data.releases.values():
        by_distro.setdefault(release.distribution, []).append(release)
    return tuple(
        DataSource(
            name=f"{distro} release support dates",
            as_of=releases[0].as_of,
            coverage=(
                f"{len(releases)} releases ({', '.join(r.release for r in releases[:8])}"
                f"{', ...' if len(releases) > 8 else ''}): end of security support and of "
                f"{releases[0].extended}, from {releases[0].source}"
            ),
            update=(
                f"download endoflife.date's {distro.lower()}.yaml page and run `trustscan rules "
                f"import {distro.lower()}.yaml -o rules/release-support` in a trustscan checkout"
            ),
        )
        for distro, releases in sorted(by_distro.items())
    )


@dataclass(frozen=True)
class HostRelease:
    distribution: str
    release: str
    how: str  # which banner says so, and why


def host_release(host: Host, shipped: ShippedVersions) -> HostRelease | None:
    """The release the host's banners point at: a package revision that names
    it first, else a version exactly one release ships."""
    for service in host.services:
        product = identify(service)
        build = package_build(
            product.product, service.version, product.version.distro, service.extrainfo
        )
        if build is not None and build.release:
            return HostRelease(
                build.distro,
                build.release,
                f"{service.port}/{service.protocol}: {service.banner or service.version}: "
                f"the package revision {build.revision} is {build.distro} {build.release}'s",
            )
    for service in host.services:
        product = identify(service)
        version = product.version.version
        if version is None or product.version.distro not in (None, "Debian", "Ubuntu"):
            continue
        named = [_RELEASE_NAME.match(r) for r in shipped.shipped_by(product.product, version)]
        releases = {(m["distro"], m["release"]) for m in named if m is not None}
        if len(releases) == 1:
            ((distro, release),) = releases
            return HostRelease(
                distro,
                release,
                f"{service.port}/{service.protocol}: {product.label} {version} is the version "
                f"{distro} {release} ships",
            )
    return None


def distribution_observations(
    hosts: Iterable[Host],
    today: dt.date,
    shipped: ShippedVersions | None = None,
    support: SupportData | None = None,
) -> tuple[Observation, ...]:
    """Per host whose release can be told: which it is, and its support today."""
    shipped = shipped if shipped is not None else builtin_shipped()
    support = support if support is not None else builtin_support()
    found: list[Observation] = []
    # Hosts of one release say the same words: one copy of each.
    words: dict[str, str] = {}
    for host in hosts:
        release = host_release(host, shipped)
        if release is None:
            continue
        name = f"{release.distribution} {release.release}"
        name, how = words.setdefault(name, name), words.setdefault(release.how, release.how)
        found.append(Observation(host.address, None, PROBE, "host.distribution", name, how))
        known = support.lookup(release.distribution, release.release)
        if known is None:
            continue
        state = known.state(today)
        evidence = f"{known.describe()}; on {today}: {_said(state, known)}"
        found.append(
            Observation(
                host.address,
                None,
                PROBE,
                "host.distribution_support",
                state.value,
                words.setdefault(evidence, evidence),
            )
        )
    return tuple(found)


def _said(state: SupportState, known: ReleaseSupport) -> str:
    return {
        SupportState.SUPPORTED: f"{known.regular}",
        SupportState.EXTENDED: f"{known.extended} only",
        SupportState.SUBSCRIPTION_ONLY: f"fixes only with {known.extended_needs}",
        SupportState.ENDED: "no security fixes",
    }[state]


def supporting(observations: Sequence[Observation]) -> tuple[str, SupportState, str] | None:
    """From a host's observations: its release, its support state and the evidence."""
    names = {o.key: o for o in observations if o.probe == PROBE}
    release, support = names.get("host.distribution"), names.get("host.distribution_support")
    if release is None or support is None:
        return None
    try:
        state = SupportState(support.value)
    except ValueError:
        return None
    return release.value, state, support.evidence
