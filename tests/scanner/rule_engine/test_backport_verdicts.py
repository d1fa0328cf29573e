"""The three verdicts on the real advisory records of ../shared/data (imported
here, as `trustscan rules import` does), for the banners nmap recorded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from debian.debian_support import Version as DebianVersion

from scanner.banners.products import ProductVersion, identify
from scanner.discovery.nmap_xml import parse_file
from scanner.feeds.importer import import_feeds
from scanner.model import BackportVerdict, Service
from scanner.rule_engine.advisories import (
    AdvisoryData,
    Claim,
    ClaimKind,
    ClaimStatus,
    load_dir,
)
from scanner.rule_engine.backports import Judgement, attribute, builtin_shipped, judge
from tests.factories import make_service
from tests.support import FIXTURES, REPO

SHARED = REPO.parent / "shared" / "data"
REGRESSHION = "CVE-2024-6387"
needs_shared = pytest.mark.skipif(
    not (SHARED / "debian-tracker").is_dir(), reason=f"shared data not present at {SHARED}"
)


def _feeds(*, changelogs: bool = True) -> list[Path]:
    paths = [SHARED / "debian-tracker", SHARED / "ubuntu-osv" / "osv"]
    paths.append(SHARED / "ubuntu-osv" / "uct-vuln-list")
    if changelogs:
        paths += sorted((SHARED / "debian-changelogs").glob("*.changelog.Debian.gz"))
    return paths


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> AdvisoryData:
    if not (SHARED / "debian-tracker").is_dir():
        pytest.skip(f"shared data not present at {SHARED}")
    out = tmp_path_factory.mktemp("advisories")
    import_feeds(_feeds(), out, None)
    return load_dir(out)


def _recorded(name: str) -> dict[str, Service]:
    report = parse_file(FIXTURES / "nmap" / name, lambda done, total: None)
    return {h.address: s for h in report.hosts for s in h.services if s.state == "open"}


def _judge(service: Service, cves: Sequence[str], data: AdvisoryData) -> dict[str, Judgement]:
    return judge(identify(service), cves, data, service.extrainfo)


def _one(service: Service, cve: str, data: AdvisoryData) -> Judgement:
    return _judge(service, [cve], data)[cve]


def _ssh(version: str, extrainfo: str = "protocol 2.0") -> Service:
    return make_service(
        port=22, name="ssh", product="OpenSSH", version=version, extrainfo=extrainfo
    )


@needs_shared
def test_debian_deb12u10_is_fixed_by_dsa_5724_1(data: AdvisoryData) -> None:
    sshd = _recorded("debian-packages.xml")["127.0.77.3"]  # the real Debian 12 sshd
    judged = _one(sshd, REGRESSHION, data)
    assert judged.verdict is BackportVerdict.FIXED
    assert judged.evidence == (
        "DSA-5724-1: fixed in 1:9.2p1-2+deb12u3 for Debian 12 (bookworm); "
        "this package is 1:9.2p1-2+deb12u10"
    )
    assert not judged.weak


@needs_shared
def test_debian_deb12u2_is_vulnerable_by_dsa_5724_1(data: AdvisoryData) -> None:
    sshd = _recorded("distro-openssh-banners.xml")["127.0.77.11"]
    judged = _one(sshd, REGRESSHION, data)
    assert judged.verdict is BackportVerdict.VULNERABLE
    assert judged.evidence == (
        "DSA-5724-1: fixed in 1:9.2p1-2+deb12u3 for Debian 12 (bookworm); "
        "this package is 1:9.2p1-2+deb12u2"
    )
    assert (judged.fixed_version, judged.advisory) == ("1:9.2p1-2+deb12u3", "DSA-5724-1")


@needs_shared
def test_the_fixed_version_itself_is_fixed(data: AdvisoryData) -> None:
    assert _one(_ssh("9.2p1 Debian 2+deb12u3"), REGRESSHION, data).verdict is BackportVerdict.FIXED


@needs_shared
def test_the_epoch_the_banner_drops_is_restored(data: AdvisoryData) -> None:
    # Without it Debian ordering puts every bookworm package below every fix.
    assert DebianVersion("9.2p1-2+deb12u10") < DebianVersion("1:9.2p1-2+deb12u3")
    judged = _one(_ssh("9.2p1 Debian 2+deb12u10"), REGRESSHION, data)
    assert judged.verdict is BackportVerdict.FIXED
    assert judged.evidence.endswith("this package is 1:9.2p1-2+deb12u10")


@needs_shared
@pytest.mark.parametrize(
    ("address", "verdict"),
    [("127.0.77.12", BackportVerdict.FIXED), ("127.0.77.13", BackportVerdict.VULNERABLE)],
)
def test_ubuntu_22_04_by_usn_6859_1(
    data: AdvisoryData, address: str, verdict: BackportVerdict
) -> None:
    # `3ubuntu0.10` names no release: 8.9p1 is 22.04's, by the data.
    judged = _one(_recorded("distro-openssh-banners.xml")[address], REGRESSHION, data)
    assert judged.verdict is verdict
    assert judged.evidence.startswith(
        "USN-6859-1: fixed in 1:8.9p1-3ubuntu0.10 for Ubuntu 22.04 (jammy); this package is "
    )


@needs_shared
def test_ubuntu_24_04_is_found_by_its_upstream_version(data: AdvisoryData) -> None:
    fixed = _one(_ssh("9.6p1 Ubuntu 3ubuntu13.3", "Ubuntu Linux; protocol 2.0"), REGRESSHION, data)
    older = _one(_ssh("9.6p1 Ubuntu 3ubuntu13", "Ubuntu Linux; protocol 2.0"), REGRESSHION, data)
    assert fixed.verdict is BackportVerdict.FIXED
    assert older.verdict is BackportVerdict.VULNERABLE
    assert "Ubuntu 24.04 (noble)" in older.evidence


@needs_shared
def test_not_affected_releases_are_fixed_with_the_reason(data: AdvisoryData) -> None:
    # Ubuntu's CVE Tracker: focal was never affected (the bug came with 8.5p1).
    focal = _one(_ssh("8.2p1 Ubuntu 4ubuntu0.5", "Ubuntu Linux; protocol 2.0"), REGRESSHION, data)
    assert focal.verdict is BackportVerdict.FIXED
    assert focal.evidence == (
        "Ubuntu CVE Tracker: Ubuntu 20.04 (focal) not affected: introduced in v8.5p1"
    )
    # Debian's tracker says the same of bullseye.
    bullseye = _one(_ssh("8.4p1 Debian 5+deb11u3"), REGRESSHION, data)
    assert bullseye.verdict is BackportVerdict.FIXED
    assert "Debian 11 (bullseye) not affected" in bullseye.evidence


@needs_shared
def test_a_banner_without_revision_is_undecided_with_what_is_known(data: AdvisoryData) -> None:
    apache = make_service(product="Apache httpd", version="2.4.52", extrainfo="(Ubuntu)")
    judged = _one(apache, "CVE-2024-27316", data)
    assert judged.verdict is BackportVerdict.UNDECIDED
    assert judged.evidence.startswith("the banner names Ubuntu but no package revision")
    assert "Ubuntu 22.04 (jammy) fixed it in 2.4.52-1ubuntu4.9 (USN-6729-1)" in judged.evidence


@needs_shared
def test_a_cve_the_data_does_not_cover_is_undecided_never_fixed(data: AdvisoryData) -> None:
    sshd = _ssh("9.2p1 Debian 2+deb12u10")
    judged = _judge(sshd, ["CVE-2099-0001", REGRESSHION], data)
    assert judged["CVE-2099-0001"].verdict is BackportVerdict.UNDECIDED
    assert "no entry for CVE-2099-0001" in judged["CVE-2099-0001"].evidence
    assert judged[REGRESSHION].verdict is BackportVerdict.FIXED
    # A release the data has nothing on for this package: undecided too.
    buster = _one(_ssh("7.9p1 Debian 10+deb10u4"), REGRESSHION, data)
    assert buster.verdict is BackportVerdict.UNDECIDED


@needs_shared
def test_an_ubuntu_upstream_version_no_release_ships_is_undecided(data: AdvisoryData) -> None:
    judged = _one(_ssh("8.8p1 Ubuntu 1", "Ubuntu Linux; protocol 2.0"), REGRESSHION, data)
    assert judged.verdict is BackportVerdict.UNDECIDED
    assert "cannot be placed" in judged.evidence


@needs_shared
def test_mariadb_from_the_changelog_is_weaker_evidence(data: AdvisoryData) -> None:
    mariadb = _recorded("debian-packages.xml")["127.0.77.6"]
    # The bookworm changelog names CVE-2025-21490 in 1:10.11.11-0+deb12u1; no
    # DSA in the data does. 10.11.19-0+deb12u1 sorts below that without its epoch.
    assert DebianVersion("10.11.19-0+deb12u1") < DebianVersion("1:10.11.11-0+deb12u1")
    judged = _one(mariadb, "CVE-2025-21490", data)
    assert judged.verdict is BackportVerdict.FIXED
    assert judged.weak
    assert "changelog of mariadb" in judged.evidence
    assert "weaker evidence" in judged.evidence
    older = make_service(port=3306, product="MySQL", version="5.5.5-10.11.6-MariaDB-0+deb12u1")
    before = _one(older, "CVE-2025-21490", data)
    assert before.verdict is BackportVerdict.VULNERABLE
    assert before.weak
    assert before.evidence.startswith(
        "the Debian changelog of mariadb for Debian 12 (bookworm) first names it in "
        "1:10.11.11-0+deb12u1; this package is 1:10.11.6-0+deb12u1"
    )


@needs_shared
def test_tracker_open_against_a_later_changelog_entry(data: AdvisoryData) -> None:
    # One of the three conflict_note cases: the stored CVE record says
    # `<no-dsa>` (open), the changelog names the CVE in 1:9.2p1-2+deb12u6.
    newer = _one(_ssh("9.2p1 Debian 2+deb12u10"), "CVE-2025-32728", data)
    assert newer.verdict is BackportVerdict.UNDECIDED
    assert "the sources disagree" in newer.evidence
    assert "1:9.2p1-2+deb12u6" in newer.evidence
    # Below the changelog's entry both agree: not fixed yet.
    older = _one(_ssh("9.2p1 Debian 2+deb12u2"), "CVE-2025-32728", data)
    assert older.verdict is BackportVerdict.VULNERABLE
    assert older.evidence.startswith(
        "Debian Security Tracker: open in Debian 12 (bookworm), no-dsa: Minor issue"
    )


@needs_shared
def test_an_open_cve_with_no_fix_anywhere_is_vulnerable(data: AdvisoryData) -> None:
    # CVE-2023-51767 (Rowhammer): `<postponed>` in bookworm, no changelog names it.
    judged = _one(_ssh("9.2p1 Debian 2+deb12u10"), "CVE-2023-51767", data)
    assert judged.verdict is BackportVerdict.VULNERABLE
    assert "postponed" in judged.evidence


@needs_shared
def test_a_caution_without_the_changelog_leaves_it_undecided(tmp_path: Path) -> None:
    # The derived tracker JSON alone: its conflict_note warns that `open` may be stale.
    import_feeds([SHARED / "debian-tracker" / "bookworm-derived.json"], tmp_path, None)
    alone = load_dir(tmp_path)
    judged = _one(_ssh("9.2p1 Debian 2+deb12u10"), "CVE-2025-32728", alone)
    assert judged.verdict is BackportVerdict.UNDECIDED
    assert "with a caution" in judged.evidence


def _synthetic(*claims: Claim) -> AdvisoryData:
    return AdvisoryData(
        {("Debian", "openssh"): {"CVE-2099-0002": claims}}, {("Debian", "12"): "bookworm"}
    )


def test_the_highest_of_several_fixes_counts() -> None:
    # A later advisory redoes an incomplete fix (nginx's DSA-6278-1 and DSA-6326-1).
    data = _synthetic(
        Claim("12", ClaimStatus.FIXED, ClaimKind.ADVISORY, "DSA-1-1", "1:9.2p1-2+deb12u4"),
        Claim("12", ClaimStatus.FIXED, ClaimKind.ADVISORY, "DSA-2-1", "1:9.2p1-2+deb12u7"),
    )
    between = _one(_ssh("9.2p1 Debian 2+deb12u5"), "CVE-2099-0002", data)
    assert between.verdict is BackportVerdict.VULNERABLE
    assert between.evidence.startswith(
        "DSA-2-1: fixed in 1:9.2p1-2+deb12u7 for Debian 12 (bookworm) "
        "(after an earlier fix in 1:9.2p1-2+deb12u4)"
    )
    after = _one(_ssh("9.2p1 Debian 2+deb12u7"), "CVE-2099-0002", data)
    assert after.verdict is BackportVerdict.FIXED


def test_an_advisory_fix_wins_over_an_open_tracker_record() -> None:
    data = _synthetic(
        Claim("12", ClaimStatus.OPEN, ClaimKind.TRACKER, "Debian Security Tracker", note="no-dsa"),
        Claim("12", ClaimStatus.FIXED, ClaimKind.ADVISORY, "DSA-3-1", "1:9.2p1-2+deb12u4"),
    )
    assert _one(_ssh("9.2p1 Debian 2+deb12u4"), "CVE-2099-0002", data).verdict is (
        BackportVerdict.FIXED
    )


def test_no_data_for_the_distribution_is_undecided() -> None:
    data = _synthetic(
        Claim("12", ClaimStatus.FIXED, ClaimKind.ADVISORY, "DSA-1-1", "1:9.2p1-2+deb12u4"),
    )
    ubuntu = _one(_ssh("8.9p1 Ubuntu 3ubuntu0.10"), "CVE-2099-0002", data)
    assert ubuntu.verdict is BackportVerdict.UNDECIDED
    assert ubuntu.evidence == "trustscan has no advisory data for Ubuntu packages"
    red_hat = _one(_ssh("8.7", "Red Hat protocol 2.0"), "CVE-2099-0002", data)
    assert red_hat.verdict is BackportVerdict.UNDECIDED


def test_an_upstream_build_gets_no_verdict() -> None:
    data = _synthetic(
        Claim("12", ClaimStatus.FIXED, ClaimKind.ADVISORY, "DSA-1-1", "1:9.2p1-2+deb12u4"),
    )
    assert _judge(_ssh("9.2p1"), ["CVE-2099-0002"], data) == {}


def test_a_distribution_only_inferred_from_the_host_is_undecided() -> None:
    data = _synthetic(
        Claim("12", ClaimStatus.FIXED, ClaimKind.ADVISORY, "DSA-1-1", "1:9.2p1-2+deb12u4"),
    )
    bare: ProductVersion = identify(_ssh("9.2p1"))
    named = attribute(bare, "Debian", builtin_shipped())
    judged = judge(named, ["CVE-2099-0002"], data)["CVE-2099-0002"]
    assert judged.verdict is BackportVerdict.UNDECIDED
    assert "but the banner names no Debian package revision" in judged.evidence
