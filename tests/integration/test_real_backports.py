"""The distribution's verdict on real Debian 12 servers (127.0.30.x): sshd and
MariaDB, whose banners carry the package revision. What trustscan makes of the
banner (the epoch the banner drops restored from the advisory data) must be
the version dpkg says is installed, and the regreSSHion verdict must be what
DSA-5724-1 says of that version."""

from __future__ import annotations

import pytest
from debian.debian_support import Version as DebianVersion

from scanner.banners.products import identify
from scanner.discovery.nmap_runs import DiscoveryOptions
from scanner.model import BackportVerdict, Confidence, ScanResult, Service, Target, TargetKind
from scanner.pipeline import ScanRequest, scan
from scanner.rule_engine.advisories import ClaimKind, ClaimStatus, builtin_advisories
from scanner.rule_engine.backports import judge
from scanner.rule_engine.loader import load_rules
from scanner.support.resources import builtin_rules_dir
from tests.realservers import RealServers, RunningServer
from tests.support import requires_nmap

pytestmark = [pytest.mark.integration, requires_nmap]

REGRESSHION = "CVE-2024-6387"


def _server(servers: RealServers, name: str) -> RunningServer:
    if name in servers.unavailable:
        pytest.skip(f"{name}: {servers.unavailable[name]}")
    if name in servers.failed:
        pytest.fail(f"{name} is installed but did not start: {servers.failed[name]}")
    return servers.running[name]


@pytest.fixture(scope="module")
def result(real_servers: RealServers) -> ScanResult:
    started = [real_servers.running[n] for n in ("sshd", "mariadb") if n in real_servers.running]
    if not started:
        pytest.skip(f"neither sshd nor mariadb runs here: {real_servers.unavailable}")
    rules_dir = builtin_rules_dir()
    request = ScanRequest(
        targets=tuple(Target(s.spec.address, TargetKind.ADDRESS, "test") for s in started),
        rules=load_rules([rules_dir]),
        rule_sources=(str(rules_dir),),
        discovery=DiscoveryOptions(ports="22,3306", parallel=2),
    )
    return scan(request)


def _service(result: ScanResult, server: RunningServer) -> Service:
    host = next(h for h in result.hosts if h.address == server.spec.address)
    return next(s for s in host.services if s.port == server.spec.port)


@pytest.mark.parametrize(("name", "cve"), [("sshd", REGRESSHION), ("mariadb", "CVE-2025-21490")])
def test_the_package_read_from_the_banner_is_the_installed_one(
    real_servers: RealServers, result: ScanResult, name: str, cve: str
) -> None:
    server = _server(real_servers, name)
    service = _service(result, server)
    judged = judge(identify(service), [cve], builtin_advisories(), service.extrainfo)[cve]
    # The evidence names the package as trustscan compared it, epoch and all.
    assert judged.evidence.split("this package is ")[1].split(" ")[0].rstrip(";") == (
        server.package.version
    ), f"banner {service.banner!r}, dpkg {server.package.version}"


def test_regresshion_on_the_real_sshd_is_what_dsa_5724_1_says(
    real_servers: RealServers, result: ScanResult
) -> None:
    server = _server(real_servers, "sshd")
    (dsa,) = [
        c
        for c in builtin_advisories().package("Debian", "openssh")[REGRESSHION]
        if c.kind is ClaimKind.ADVISORY and c.status is ClaimStatus.FIXED and c.release == "12"
    ]
    fixed = DebianVersion(server.package.version) >= DebianVersion(dsa.version)
    group = [
        f
        for f in result.findings
        if f.host == server.spec.address and f.rule_id == "openssh-known-vulnerabilities"
    ]
    listed = [v for f in group for v in f.vulnerabilities if v.id == REGRESSHION]
    if fixed:
        assert listed == [], f"{server.package.version} has {dsa.source}'s fix ({dsa.version})"
    else:
        (vuln,) = listed
        assert vuln.backport is BackportVerdict.VULNERABLE
        assert group[0].confidence is Confidence.HIGH
