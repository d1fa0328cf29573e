"""Tell when a version may come from a distribution package without the banner saying so.

Distributions keep one upstream version for a release's life and backport
security fixes into it, so `nginx/1.22.1` on a Debian 12 host is patched
although upstream ended 1.22 in 2023. Many banners (nginx, Redis, Memcached,
vsftpd) never name the distribution. Two signals stand in for it:

- another service on the same host names a distribution (its SSH banner says
  `Debian`): the host's other packages likely come from the same place;
- the version is exactly one a distribution release ships, from the data in
  `rules/distributions/*.json`.

Either makes a version-based finding low-confidence, with the reason in its note.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from packaging.version import Version

from scanner.banners.products import ProductVersion
from scanner.banners.versions import detect_distro, normalise
from scanner.model import Host
from scanner.support.errors import InputError
from scanner.support.files import read_text
from scanner.support.resources import builtin_rules_dir

_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ShippedVersions:
    """product id -> upstream version -> the distribution releases that ship it."""

    by_product: dict[str, dict[Version, tuple[str, ...]]]

    def shipped_by(self, product: str, version: Version) -> tuple[str, ...]:
        return self.by_product.get(product, {}).get(version, ())


def load_shipped(directory: Path) -> ShippedVersions:
    by_product: dict[str, dict[Version, tuple[str, ...]]] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(read_text(path, _MAX_BYTES, "distribution data"))
            release = str(data["distribution"])
            packages = data["packages"].items()
            entries = [(product, str(raw)) for product, p in packages for raw in p["upstream"]]
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{path}: invalid distribution data ({exc})") from None
        for product, raw in entries:
            version = normalise(raw).version
            if version is None:
                raise InputError(f"{path}: {product} version {raw!r} is not a version")
            known = by_product.setdefault(product, {})
            known[version] = (*known.get(version, ()), release)
    return ShippedVersions(by_product)


@lru_cache(maxsize=1)
def builtin_shipped() -> ShippedVersions:
    return load_shipped(builtin_rules_dir() / "distributions")


def host_distribution(host: Host) -> str | None:
    """The distribution any service on the host names in its banner."""
    for service in host.services:
        named = detect_distro(service.version, service.extrainfo)
        if named:
            return named
    return None


def attribute(
    product: ProductVersion, host_distro: str | None, shipped: ShippedVersions
) -> ProductVersion:
    """Fill in a distribution the banner left out, with the reason for it."""
    parsed = product.version
    if parsed.distro or parsed.version is None:
        return product
    releases = shipped.shipped_by(product.product, parsed.version)
    if releases:
        reason = f"{' and '.join(releases)} ships exactly this version"
        distro = releases[0]
    elif host_distro:
        reason = f"another service on this host is a {host_distro} build"
        distro = host_distro
    else:
        return product
    version = dataclasses.replace(parsed, distro=distro, distro_reason=reason)
    return dataclasses.replace(product, version=version)
