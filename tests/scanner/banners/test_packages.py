"""The package revision a banner carries, read from recorded nmap XML and from
banners as nmap writes them."""

from __future__ import annotations

import pytest

from scanner.banners.packages import PackageBuild, package_build, release_in, source_packages
from scanner.banners.products import identify
from scanner.discovery.nmap_xml import parse_file
from scanner.model import Service
from tests.factories import make_service
from tests.support import FIXTURES


def _services(name: str) -> dict[str, Service]:
    """Each open service of a recorded nmap run, by its host's address."""
    report = parse_file(FIXTURES / "nmap" / name, lambda done, total: None)
    return {h.address: s for h in report.hosts for s in h.services if s.state == "open"}


def _build(service: Service) -> PackageBuild | None:
    product = identify(service)
    return package_build(
        product.product, product.version.raw, product.version.distro, service.extrainfo
    )


def test_real_debian_sshd_and_mariadb_as_nmap_recorded_them() -> None:
    # nmap 7.93 against the openssh-server and mariadb-server of Debian 12.
    services = _services("debian-packages.xml")
    sshd, mariadb = services["127.0.77.3"], services["127.0.77.6"]
    assert (sshd.product, sshd.version) == ("OpenSSH", "9.2p1 Debian 2+deb12u10")
    assert _build(sshd) == PackageBuild("Debian", "9.2p1", "2+deb12u10", "12")
    # MariaDB answers with MySQL's protocol: nmap names it MySQL.
    assert (mariadb.product, mariadb.version) == ("MySQL", "5.5.5-10.11.19-MariaDB-0+deb12u1")
    build = _build(mariadb)
    assert build == PackageBuild("Debian", "10.11.19", "0+deb12u1", "12")
    assert build is not None
    assert build.version == "10.11.19-0+deb12u1"


def test_ubuntu_banners_as_nmap_recorded_them_name_no_release() -> None:
    services = _services("distro-openssh-banners.xml")
    ubuntu = services["127.0.77.12"]
    assert (ubuntu.version, ubuntu.extrainfo) == (
        "8.9p1 Ubuntu 3ubuntu0.10",
        "Ubuntu Linux; protocol 2.0",
    )
    # `3ubuntu0.10` says nothing of the release: the rule engine finds it in the data.
    assert _build(ubuntu) == PackageBuild("Ubuntu", "8.9p1", "3ubuntu0.10", "")
    assert _build(services["127.0.77.13"]) == PackageBuild("Ubuntu", "8.9p1", "3ubuntu0.9", "")
    assert _build(services["127.0.77.11"]) == PackageBuild("Debian", "9.2p1", "2+deb12u2", "12")


@pytest.mark.parametrize(
    ("product", "version", "extrainfo", "expected"),
    [
        # nmap reads older Ubuntu banners (`OpenSSH_7.6p1 Debian-4ubuntu0.3`) as Debian.
        (
            "OpenSSH",
            "7.6p1 Debian 4ubuntu0.3",
            "Ubuntu Linux; protocol 2.0",
            PackageBuild("Ubuntu", "7.6p1", "4ubuntu0.3", ""),
        ),
        (
            "OpenSSH",
            "7.4p1 Debian 10+deb9u7",
            "protocol 2.0",
            PackageBuild("Debian", "7.4p1", "10+deb9u7", "9"),
        ),
        # The build in nmap's extra info.
        (
            "OpenSSH",
            "9.2p1",
            "Debian 2+deb12u3",
            PackageBuild("Debian", "9.2p1", "2+deb12u3", "12"),
        ),
        (
            "MySQL",
            "5.5.5-10.6.16-MariaDB-0ubuntu0.22.04.1",
            "",
            PackageBuild("Ubuntu", "10.6.16", "0ubuntu0.22.04.1", "22.04"),
        ),
        (
            "MySQL",
            "10.3.39-MariaDB-0+deb10u2-log",
            "",
            PackageBuild("Debian", "10.3.39", "0+deb10u2", "10"),
        ),
        # Banners that name the distribution but no revision.
        ("Apache httpd", "2.4.52", "(Ubuntu)", PackageBuild("Ubuntu", "2.4.52")),
        ("nginx", "1.22.1", "(Debian)", PackageBuild("Debian", "1.22.1")),
        ("OpenSSH", "8.7", "Red Hat protocol 2.0", PackageBuild("Red Hat", "8.7")),
    ],
)
def test_distribution_builds(
    product: str, version: str, extrainfo: str, expected: PackageBuild
) -> None:
    service = make_service(product=product, version=version, extrainfo=extrainfo)
    assert _build(service) == expected


@pytest.mark.parametrize(
    ("product", "version", "extrainfo"),
    [
        ("OpenSSH", "9.8p1", "protocol 2.0"),
        ("Apache httpd", "2.4.49", "(Unix)"),
        # MariaDB's own repository: upstream's build, not Debian's package.
        ("MySQL", "5.5.5-10.11.6-MariaDB-1:10.11.6+maria~deb12", ""),
    ],
)
def test_upstream_builds_are_no_package(product: str, version: str, extrainfo: str) -> None:
    assert _build(make_service(product=product, version=version, extrainfo=extrainfo)) is None


def test_a_revision_is_bounded_and_plain() -> None:
    # A banner is the target's words: a revision of 500 characters or with
    # spaces is no revision.
    long = make_service(product="OpenSSH", version="9.2p1 Debian " + "1" * 500)
    assert _build(long) == PackageBuild("Debian", "9.2p1")
    odd = make_service(product="OpenSSH", version="9.2p1 Debian 2+deb12u3; rm -rf")
    assert _build(odd) == PackageBuild("Debian", "9.2p1")


def test_release_markers() -> None:
    assert release_in("Debian", "1~deb12u1") == "12"
    assert release_in("Debian", "2+deb13u4") == "13"
    assert release_in("Debian", "2") == ""
    assert release_in("Ubuntu", "3.0.5-0ubuntu0.20.04.1") == "20.04"
    assert release_in("Ubuntu", "3ubuntu0.10") == ""
    assert release_in("Ubuntu", "3ubuntu13.3") == ""


def test_source_packages() -> None:
    assert source_packages("openssh", "9.2p1") == ("openssh",)
    assert source_packages("mariadb", "10.11.19") == ("mariadb", "mariadb-10.11")
    assert source_packages("postgresql", "15.20") == ("postgresql-15",)
    assert source_packages("postgresql", "9.6.24") == ("postgresql-9.6",)
    assert source_packages("php", "8.2.20") == ("php8.2",)
    assert source_packages("elasticsearch", "8.1.0") == ()


def test_banners_leave_out_the_epoch() -> None:
    # The package is 1:9.2p1-2+deb12u10 (dpkg says so); the banner shows no `1:`.
    recorded = (FIXTURES / "nmap" / "debian-packages.xml").read_text(encoding="utf-8")
    assert "9.2p1 Debian 2+deb12u10" in recorded
    assert "1:9.2p1" not in recorded
    assert PackageBuild("Ubuntu", "2.4.52").version == "2.4.52"
