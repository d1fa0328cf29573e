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

Where the banner carries the package revision (`9.2p1 Debian 2+deb12u10`),
`judge` settles each CVE from the distribution's own advisory data
(`advisories`): *fixed* when the package is at or above the fixed version the
distribution published (or the distribution says the release is not
affected), *vulnerable* when it is below it, *undecided* when the banner has
no revision or the data does not cover the package, release or CVE: a CVE
the data does not name is never taken as fixed.

Which source wins when they disagree: a fixed version (DSA, DLA, USN, the
trackers) over an "open" status, which may be an older record; the highest
fixed version when several fix one CVE (a later advisory redoes an incomplete
fix); an "open" status over a changelog that names the CVE in a package older
than this one, and neither when the changelog names it in this package or an
older one (undecided: the stored tracker record may predate the fix). A
changelog alone decides too, said to be weaker evidence.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from debian.debian_support import Version as DebianVersion
from packaging.version import Version

from scanner.banners.packages import PackageBuild, package_build, source_packages
from scanner.banners.products import ProductVersion
from scanner.banners.versions import detect_distro, normalise
from scanner.model import BackportVerdict, Host
from scanner.rule_engine.advisories import (
    DISTRIBUTIONS,
    AdvisoryData,
    Claim,
    ClaimKind,
    ClaimStatus,
    debian_version,
)
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


@dataclass(frozen=True)
class Judgement:
    """The distribution's verdict on one CVE in the package a banner names."""

    verdict: BackportVerdict
    evidence: str
    # Decided by a changelog naming the CVE, not by an advisory or a tracker.
    weak: bool = False
    # The distribution's fixed package and the advisory naming it, if any.
    fixed_version: str = ""
    advisory: str = ""


# How far each kind of source is trusted when two state the same fixed version.
_KIND_ORDER = {ClaimKind.ADVISORY: 0, ClaimKind.TRACKER: 1, ClaimKind.CHANGELOG: 2}
_WEAKER = (
    "weaker evidence: a changelog that names a CVE has not always fixed it, "
    "and no advisory in trustscan's data says"
)


def _undecided(cves: Sequence[str], reason: str) -> dict[str, Judgement]:
    return {cve: Judgement(BackportVerdict.UNDECIDED, reason) for cve in cves}


def judge(
    product: ProductVersion, cves: Sequence[str], data: AdvisoryData, extrainfo: str = ""
) -> dict[str, Judgement]:
    """Per CVE, what the distribution's own data says of the package the banner
    names; empty for an upstream build (no distribution named)."""
    parsed = product.version
    # An attributed distribution may be a release ("Debian 12 (bookworm)").
    named = detect_distro(parsed.distro) or parsed.distro if parsed.distro else None
    build = package_build(product.product, parsed.raw, named, extrainfo)
    if build is None:
        return {}
    distro = build.distro
    packages = source_packages(product.product, build.upstream)
    if distro not in DISTRIBUTIONS or not data.covers(distro):
        return _undecided(cves, f"trustscan has no advisory data for {distro} packages")
    if not packages:
        return _undecided(cves, f"trustscan does not know {distro}'s package of this product")
    if not build.revision:
        return {cve: _no_revision(build, packages, cve, data, parsed.distro_reason) for cve in cves}
    releases = _releases(build, packages, data)
    if not releases:
        return _undecided(
            cves,
            f"no {distro} release in trustscan's data has {packages[0]} {build.upstream}, "
            f"so the package {build.version} cannot be placed",
        )
    judged: dict[str, Judgement] = {}
    for cve in cves:
        each = [_in_release(build, release, packages, cve, data) for release in releases]
        if len({j.verdict for j in each}) == 1:
            judged[cve] = each[0] if len(each) == 1 else _agreed(each)
        else:
            names = " and ".join(data.release_name(distro, r) for r in releases)
            judged[cve] = Judgement(
                BackportVerdict.UNDECIDED,
                f"the package {build.version} fits {names}, whose data disagree: "
                + "; ".join(j.evidence for j in each),
            )
    return judged


def _agreed(each: Sequence[Judgement]) -> Judgement:
    first = each[0]
    return dataclasses.replace(
        first,
        evidence=" / ".join(dict.fromkeys(j.evidence for j in each)),
        weak=any(j.weak for j in each),
    )


def _versioned(
    data: AdvisoryData, distro: str, packages: Sequence[str]
) -> list[tuple[str, DebianVersion]]:
    """(release, version) of every claim that names a package version."""
    found = []
    for package in packages:
        for claims in data.package(distro, package).values():
            for claim in claims:
                version = debian_version(claim.version) if claim.version else None
                if version is not None:
                    found.append((claim.release, version))
    return found


def _releases(build: PackageBuild, packages: Sequence[str], data: AdvisoryData) -> list[str]:
    """The release the package belongs to: named by its revision (`+deb12u3`),
    else the releases whose data has packages of the same upstream version
    (an Ubuntu `3ubuntu0.10` of 8.9p1 is 22.04's), narrowed to those that
    know this very package when that leaves any."""
    if build.release:
        return [build.release]
    same = [
        (r, v)
        for r, v in _versioned(data, build.distro, packages)
        if v.upstream_version == build.upstream
    ]
    releases = sorted({r for r, _ in same})
    exact = sorted({r for r, v in same if _without_epoch(v) == build.version})
    return exact if len(releases) > 1 and exact else releases


def _without_epoch(version: DebianVersion) -> str:
    text = str(version)
    return text.split(":", 1)[1] if version.epoch is not None else text


def _epoch(
    build: PackageBuild, release: str, packages: Sequence[str], data: AdvisoryData
) -> str | None:
    """The epoch the banner left out, from the release's own versions of the
    package: those of the same upstream version first. None when they differ."""
    versions = [v for r, v in _versioned(data, build.distro, packages) if r == release]
    same = [v for v in versions if v.upstream_version == build.upstream]
    epochs = {v.epoch or "" for v in (same or versions)}
    return epochs.pop() if len(epochs) == 1 else ("" if not epochs else None)


def _no_revision(
    build: PackageBuild, packages: Sequence[str], cve: str, data: AdvisoryData, inferred: str
) -> Judgement:
    """Undecided, with what the data says of the releases that ship this upstream version."""
    if inferred:
        reason = f"{inferred}, but the banner names no {build.distro} package revision"
    else:
        reason = f"the banner names {build.distro} but no package revision"
    reason += f", so {build.distro}'s fixes cannot be told apart"
    known = []
    for package in packages:
        for claim in data.package(build.distro, package).get(cve, ()):
            version = debian_version(claim.version) if claim.version else None
            if (
                claim.status is ClaimStatus.FIXED
                and version is not None
                and version.upstream_version == build.upstream
            ):
                where = data.release_name(build.distro, claim.release)
                known.append(f"{where} fixed it in {claim.version} ({claim.source})")
    if known:
        reason += "; " + "; ".join(list(dict.fromkeys(known))[:3])
    return Judgement(BackportVerdict.UNDECIDED, reason)


def _in_release(
    build: PackageBuild, release: str, packages: Sequence[str], cve: str, data: AdvisoryData
) -> Judgement:
    where = data.release_name(build.distro, release)
    claims = [
        claim
        for package in packages
        for claim in data.package(build.distro, package).get(cve, ())
        if claim.release == release
    ]
    if not claims:
        return Judgement(
            BackportVerdict.UNDECIDED,
            f"trustscan's {where} data has no entry for {cve} in {packages[0]} "
            "(the data is partial: a CVE it does not name is not taken as fixed)",
        )
    epoch = _epoch(build, release, packages, data)
    package = debian_version(f"{epoch}:{build.version}" if epoch else build.version)
    if epoch is None or package is None:
        return Judgement(
            BackportVerdict.UNDECIDED,
            f"the package {build.version} cannot be compared with {where}'s versions",
        )
    return _settle(package, where, claims)


def _by_version(claims: Sequence[Claim]) -> list[tuple[DebianVersion, Claim]]:
    pairs = [(debian_version(c.version), c) for c in claims]
    return [(v, c) for v, c in pairs if v is not None]


def _settle(package: DebianVersion, where: str, claims: Sequence[Claim]) -> Judgement:
    """One CVE in one release's package, from every claim the data has on it."""
    shown = f"this package is {package}"
    fixes = _by_version(
        [c for c in claims if c.status is ClaimStatus.FIXED and c.kind is not ClaimKind.CHANGELOG]
    )
    mentions = _by_version([c for c in claims if c.status is ClaimStatus.MENTIONED])
    mention = min(mentions, key=lambda vc: vc[0]) if mentions else None
    if fixes:
        # The highest fix counts: a later advisory redoes an earlier, incomplete one.
        version, top = max(fixes, key=lambda vc: (vc[0], -_KIND_ORDER[vc[1].kind]))
        earlier = sorted({c.version for v, c in fixes if v < version})
        before = f" (after an earlier fix in {', '.join(earlier)})" if earlier else ""
        evidence = f"{top.source}: fixed in {top.version} for {where}{before}; {shown}"
        verdict = BackportVerdict.FIXED if package >= version else BackportVerdict.VULNERABLE
        return Judgement(verdict, evidence, fixed_version=top.version, advisory=top.source)
    unaffected = [c for c in claims if c.status is ClaimStatus.NOT_AFFECTED]
    if unaffected:
        claim = min(unaffected, key=lambda c: _KIND_ORDER[c.kind])
        note = f": {claim.note}" if claim.note else ""
        return Judgement(
            BackportVerdict.FIXED,
            f"{claim.source}: {where} not affected{note}",
            advisory=claim.source,
        )
    opened = [c for c in claims if c.status is ClaimStatus.OPEN]
    if opened:
        claim = min(opened, key=lambda c: _KIND_ORDER[c.kind])
        status = f"{claim.source}: open in {where}" + (f", {claim.note}" if claim.note else "")
        if mention is not None and package >= mention[0]:
            return Judgement(
                BackportVerdict.UNDECIDED,
                f"{status}, but the {mention[1].source} names it in {mention[1].version}, "
                f"which this package ({package}) includes: the sources disagree "
                "(the tracker record may be older than the fix)",
            )
        caution = next((c.caution for c in opened if c.caution), "")
        if mention is None and caution:
            return Judgement(BackportVerdict.UNDECIDED, f"{status}, with a caution: {caution}")
        later = (
            f"; the {mention[1].source} first names it in {mention[1].version}, "
            "later than this package"
            if mention is not None
            else ""
        )
        return Judgement(
            BackportVerdict.VULNERABLE,
            f"{status}: no fixed package; {shown}{later}",
            fixed_version=mention[1].version if mention is not None else "",
            advisory=claim.source,
        )
    if mention is not None:
        version, claim = mention
        if package >= version:
            return Judgement(
                BackportVerdict.FIXED,
                f"the {claim.source} for {where} names it in {claim.version}; {shown} "
                f"({_WEAKER} it was fixed)",
                weak=True,
                fixed_version=claim.version,
                advisory=claim.source,
            )
        return Judgement(
            BackportVerdict.VULNERABLE,
            f"the {claim.source} for {where} first names it in {claim.version}; {shown} "
            f"({_WEAKER} when it was fixed)",
            weak=True,
            fixed_version=claim.version,
            advisory=claim.source,
        )
    return Judgement(
        BackportVerdict.UNDECIDED,
        f"trustscan's {where} data has no usable status for this CVE",
    )
