"""Banner versions as nmap reports them (its `version` and `extrainfo` fields)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from scanner.banners.products import identify
from scanner.banners.versions import detect_distro, normalise
from tests.factories import make_service

# (version, extrainfo, normalised version or None, distro, is_range)
BANNERS: list[object] = [
    # Apache httpd
    ("2.4.7", "", "2.4.7", None, False),
    ("2.2.15", "(CentOS)", "2.2.15", "CentOS", False),
    ("2.4.6", "(Red Hat Enterprise Linux)", "2.4.6", "Red Hat", False),
    ("2.4.37", "(centos)", "2.4.37", "CentOS", False),
    ("2.4.62", "(Debian)", "2.4.62", "Debian", False),
    ("2.4.58", "(Ubuntu)", "2.4.58", "Ubuntu", False),
    ("2.4.57", "(Fedora Linux)", "2.4.57", "Fedora", False),
    ("2.4.6", "(CentOS) OpenSSL/1.0.2k-fips PHP/5.4.16", "2.4.6", "CentOS", False),
    ("2.4.37", "(Red Hat Enterprise Linux) OpenSSL/1.1.1k", "2.4.37", "Red Hat", False),
    ("2.4.41", "(Unix)", "2.4.41", None, False),
    pytest.param("2.0.X", "", None, None, True, id="apache-2.0.X-wildcard"),
    # OpenSSH: nmap puts the distribution build in `version`
    pytest.param("9.2p1", "Debian 2+deb12u3", "9.2.post1", "Debian", False, id="openssh-9.2p1"),
    pytest.param(
        "7.4p1 Debian 10+deb9u7",
        "protocol 2.0",
        "7.4.post1",
        "Debian",
        False,
        id="openssh-7.4p1-debian",
    ),
    pytest.param(
        "8.9p1 Ubuntu 3ubuntu0.10",
        "Ubuntu Linux; protocol 2.0",
        "8.9.post1",
        "Ubuntu",
        False,
        id="openssh-8.9p1-ubuntu",
    ),
    ("7.4", "protocol 2.0", "7.4", None, False),
    # MariaDB behind MySQL's protocol, MySQL
    ("5.5.5-10.11.19-MariaDB-0+deb12u1", "", "10.11.19", "Debian", False),
    ("10.3.23-MariaDB-0+deb10u1", "", "10.3.23", "Debian", False),
    ("5.5.5-10.6.18-MariaDB-0ubuntu0.22.04.1", "", "10.6.18", "Ubuntu", False),
    ("11.2.2-MariaDB-1:11.2.2+maria~ubu2204", "", "11.2.2", None, False),
    ("5.7.33-0ubuntu0.18.04.1", "", "5.7.33", "Ubuntu", False),
    ("8.0.27", "", "8.0.27", None, False),
    ("5.5.62-log", "", "5.5.62", None, False),
    # nginx, Tomcat, IIS, PostgreSQL
    ("1.22.1", "", "1.22.1", None, False),
    ("1.18.0", "Ubuntu", "1.18.0", "Ubuntu", False),
    ("8.5.100", "", "8.5.100", None, False),
    ("10.0", "", "10.0", None, False),
    ("9.6.0 or later", "", None, None, True),
    ("9.6.0 - 9.6.7", "", None, None, True),
    ("3.5.0 or earlier", "Ubuntu", None, "Ubuntu", True),
    ("16.3", "Debian 16.3-1.pgdg120+1", "16.3", "Debian", False),
    # OpenSSL letter releases, ProFTPD letter and release-candidate releases
    ("1.0.2k", "", "1.0.2.post11", None, False),
    ("1.1.1w", "", "1.1.1.post23", None, False),
    ("1.3.5b", "", "1.3.5.post2", None, False),
    ("1.3.6rc2", "", "1.3.6rc2", None, False),
    ("8.0.0-rc1", "", "8.0.0rc1", None, False),
    # Redis, Memcached, vsftpd, Exim
    ("7.0.15", "", "7.0.15", None, False),
    ("1.6.18", "", "1.6.18", None, False),
    ("3.0.3", "", "3.0.3", None, False),
    ("4.92", "", "4.92", None, False),
    # Raspbian builds are Debian builds
    ("7.0.0", "Raspbian", "7.0.0", "Debian", False),
    # nothing at all
    ("", "", None, None, False),
]


@pytest.mark.parametrize(("raw", "extrainfo", "expected", "distro", "is_range"), BANNERS)
def test_normalise(
    raw: str, extrainfo: str, expected: str | None, distro: str | None, is_range: bool
) -> None:
    result = normalise(raw, extrainfo)
    version = str(result.version) if result.version is not None else None
    assert (version, result.distro, result.is_range) == (expected, distro, is_range)
    assert result.raw == raw
    assert result.known is (expected is not None)
    assert result.backport_possible is (distro is not None)


def test_table_has_at_least_30_rows() -> None:
    assert len(BANNERS) >= 30


@pytest.mark.parametrize(
    ("raw", "extrainfo", "distro"),
    [
        ("9.2p1", "Debian 2+deb12u3", "Debian"),
        ("7.4p1 Debian 10+deb9u7", "protocol 2.0", "Debian"),
        ("8.9p1 Ubuntu 3ubuntu0.10", "Ubuntu Linux; protocol 2.0", "Ubuntu"),
    ],
)
def test_openssh_distribution_builds_are_recognised(raw: str, extrainfo: str, distro: str) -> None:
    result = normalise(raw, extrainfo)
    assert result.distro == distro
    assert result.known


def test_openssh_patch_levels_are_ordered() -> None:
    # 9.3p2 fixed CVE-2023-38408 in 9.3p1: the two must not compare equal.
    p1 = normalise("9.3p1").version
    p2 = normalise("9.3p2").version
    assert p1 is not None
    assert p2 is not None
    assert p1 < p2


def test_release_candidate_is_a_prerelease_before_the_release() -> None:
    rc = normalise("1.3.6rc2").version
    assert rc is not None
    assert rc.is_prerelease
    assert rc < Version("1.3.6")


def test_letter_release_sorts_after_the_release() -> None:
    k = normalise("1.0.2k").version
    assert k is not None
    assert Version("1.0.2") < k < Version("1.0.3")
    assert not k.is_prerelease


def test_display_shows_the_parsed_version_or_the_raw_text() -> None:
    assert normalise("1.0.2k").display == "1.0.2.post11"
    assert normalise("9.6.0 or later").display == "9.6.0 or later"


@pytest.mark.parametrize(
    ("texts", "distro"),
    [
        (("(Debian)",), "Debian"),
        (("7.4p1 Debian 10+deb9u7",), "Debian"),
        (("2.4.6-99.el7",), "Red Hat"),
        (("2.4.37-56.module+el8.8.0+18758+b3a9c8da.6",), "Red Hat"),
        (("SUSE Linux",), "SUSE"),
        (("amzn2",), "Amazon Linux"),
        (("2.4.62", ""), None),
        (("(Unix)", "(Win64)"), None),
    ],
)
def test_detect_distro(texts: tuple[str, ...], distro: str | None) -> None:
    assert detect_distro(*texts) == distro


@pytest.mark.parametrize(
    ("product", "version", "expected"),
    [
        ("Apache httpd", "2.4.62", "apache-httpd"),
        ("MySQL", "5.5.5-10.11.19-MariaDB-0+deb12u1", "mariadb"),
        ("MySQL", "8.0.27", "mysql"),
        ("MariaDB", "10.11.6", "mariadb"),
        ("PostgreSQL DB", "16.3", "postgresql"),
        ("OpenSSH", "9.2p1 Debian 2+deb12u3", "openssh"),
        ("nginx", "1.22.1", "nginx"),
        ("Apache Tomcat", "8.5.100", "apache-tomcat"),
        ("Microsoft IIS httpd", "10.0", "iis"),
        ("Redis key-value store", "7.0.15", "redis"),
        ("Apache httpd mod_ssl", "2.4.62", ""),
        ("SimpleHTTPServer", "0.6", ""),
        ("", "", ""),
    ],
)
def test_identify(product: str, version: str, expected: str) -> None:
    identified = identify(make_service(product=product, version=version))
    assert identified.product == expected


def test_identify_parses_the_version_with_extrainfo() -> None:
    identified = identify(make_service(version="2.2.15", extrainfo="(CentOS)"))
    assert identified.version.version == Version("2.2.15")
    assert identified.version.distro == "CentOS"
