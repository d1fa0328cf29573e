"""trustscan against real servers from Debian packages, on 127.0.30.x.

One scan (real nmap through the pipeline, the built-in rules) of every server
the session started; then, per server, what trustscan made of it: the product,
the version compared with the installed package's, and what the rules said.
These are current Debian 12 packages, which Debian patches by backporting
fixes: supported, but backport-dependent. Every version-based finding on them
is low-confidence and says why: the banner names Debian, or (nginx, vsftpd,
Redis, Memcached, whose banners do not) Debian 12 ships exactly that version
(rules/distributions/debian-12.json). Two of them (nginx 1.22, Redis 7.0) are
branches their upstream no longer maintains: an end-of-life finding there is
shown, with that caveat, not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pytest
from packaging.version import Version

from scanner.banners.products import identify
from scanner.banners.versions import normalise
from scanner.discovery.nmap_runs import DiscoveryOptions
from scanner.model import Confidence, Finding, ScanResult, Service, Target, TargetKind
from scanner.pipeline import ScanRequest, scan
from scanner.rule_engine.backports import attribute, builtin_shipped
from scanner.rule_engine.loader import load_rules
from scanner.support.resources import builtin_rules_dir
from tests.realservers import SPECS, RealServers, RunningServer
from tests.support import requires_nmap

pytestmark = [pytest.mark.integration, requires_nmap]

PORTS = "21,22,80,3306,5432,6379,11211"


class Reads(Enum):
    """What nmap 7.93 can tell of the server's version."""

    EXACT = "exact"  # the release: `2.4.62`, `9.2p1 Debian 2+deb12u3`
    RANGE = "range"  # only a range: PostgreSQL's `9.6.0 or later`


@dataclass(frozen=True)
class Expected:
    product: str  # trustscan's product id
    reads: Reads
    # Whether Debian's build names the distribution in what nmap reads:
    # `Apache/2.4.62 (Debian)`, `OpenSSH_9.2p1 Debian-2+deb12u3`,
    # `10.11.11-MariaDB-0+deb12u1`; nginx, vsftpd, Redis and Memcached do not.
    names_debian: bool
    # Whether the upstream project still maintains the packaged release branch.
    # Debian 12 ships nginx 1.22 (upstream ended it 2023-04-11) and Redis 7.0
    # (ended 2024-07-29) and backports fixes to them itself.
    maintained_upstream: bool = True


EXPECTED: dict[str, Expected] = {
    "apache2": Expected("apache-httpd", Reads.EXACT, names_debian=True),
    "nginx": Expected("nginx", Reads.EXACT, names_debian=False, maintained_upstream=False),
    "sshd": Expected("openssh", Reads.EXACT, names_debian=True),
    "vsftpd": Expected("vsftpd", Reads.EXACT, names_debian=False),
    # PostgreSQL sends no version before authentication: nmap knows only a range.
    "postgresql": Expected("postgresql", Reads.RANGE, names_debian=False),
    "mariadb": Expected("mariadb", Reads.EXACT, names_debian=True),
    "redis": Expected("redis", Reads.EXACT, names_debian=False, maintained_upstream=False),
    "memcached": Expected("memcached", Reads.EXACT, names_debian=False),
}
SERVERS = [spec.name for spec in SPECS]
UNNAMED = [name for name in SERVERS if not EXPECTED[name].names_debian]
MAINTAINED = [name for name in SERVERS if EXPECTED[name].maintained_upstream]
RANGES = [name for name in SERVERS if EXPECTED[name].reads is Reads.RANGE]

# Findings that stand on the version the banner gave.
_VERSION_CATEGORIES = frozenset({"end-of-life", "outdated-software"})


def _version_based(finding: Finding) -> bool:
    return (
        finding.category in _VERSION_CATEGORIES
        or bool(finding.vulnerabilities)
        or any(e.startswith("version:") for e in finding.evidence)
    )


@pytest.fixture(scope="module")
def result(real_servers: RealServers) -> ScanResult:
    addresses = [s.spec.address for s in real_servers.running.values()]
    if not addresses and real_servers.failed:
        pytest.fail(f"no real server started: {real_servers.failed}")
    if not addresses:
        pytest.skip(f"no real server is installed: {real_servers.unavailable}")
    rules_dir = builtin_rules_dir()
    request = ScanRequest(
        targets=tuple(Target(a, TargetKind.ADDRESS, "test") for a in sorted(addresses)),
        rules=load_rules([rules_dir]),
        rule_sources=(str(rules_dir),),
        discovery=DiscoveryOptions(ports=PORTS, parallel=4),
    )
    return scan(request)


def _server(servers: RealServers, name: str) -> RunningServer:
    if name in servers.unavailable:
        pytest.skip(f"{name}: {servers.unavailable[name]}")
    if name in servers.failed:
        pytest.fail(f"{name} is installed but did not start: {servers.failed[name]}")
    return servers.running[name]


def _service(result: ScanResult, server: RunningServer) -> Service:
    address, port = server.spec.address, server.spec.port
    host = next((h for h in result.hosts if h.address == address), None)
    assert host is not None, f"{address} missing from the scan; errors: {result.probe_errors}"
    service = next((s for s in host.services if s.port == port), None)
    assert service is not None, f"{address}:{port} not found open: {host}"
    return service


def _findings(result: ScanResult, server: RunningServer) -> list[Finding]:
    return [
        f for f in result.findings if f.host == server.spec.address and f.port == server.spec.port
    ]


def test_the_table_covers_every_server() -> None:
    assert sorted(EXPECTED) == sorted(SERVERS)


def test_the_scan_reached_every_started_server(
    real_servers: RealServers, result: ScanResult
) -> None:
    assert result.unanswered == ()
    assert [e for e in result.probe_errors if e.stage == "discovery"] == []
    scanned = {h.address for h in result.hosts}
    assert scanned == {s.spec.address for s in real_servers.running.values()}


@pytest.mark.parametrize("name", SERVERS)
def test_the_service_is_found_open(
    real_servers: RealServers, result: ScanResult, name: str
) -> None:
    server = _server(real_servers, name)
    service = _service(result, server)
    assert (service.protocol, service.state) == ("tcp", "open")
    assert service.method == "probed", f"nmap only guessed from the port: {service}"
    # Only the server's own port answers on its address.
    host = next(h for h in result.hosts if h.address == server.spec.address)
    assert [s.port for s in host.services] == [server.spec.port]


@pytest.mark.parametrize("name", SERVERS)
def test_trustscan_names_the_product(
    real_servers: RealServers, result: ScanResult, name: str
) -> None:
    service = _service(result, _server(real_servers, name))
    assert identify(service).product == EXPECTED[name].product, service.banner


@pytest.mark.parametrize("name", SERVERS)
def test_the_version_agrees_with_the_debian_package(
    real_servers: RealServers, result: ScanResult, name: str
) -> None:
    server = _server(real_servers, name)
    service = _service(result, server)
    read = identify(service).version
    package = normalise(server.package.upstream).version
    assert package is not None, f"cannot read {server.package}"
    context = f"nmap: {service.banner!r}; package {server.package}"
    if EXPECTED[name].reads is Reads.EXACT:
        assert not read.is_range, context
        assert read.version == package, context
    else:
        assert read.is_range, context
        assert read.version is None, context
        assert not read.known, context
        # The range nmap gives must hold the installed release.
        lower, _, rest = read.raw.partition(" or later")
        assert rest == "", f"a range of another form: {context}"
        assert Version(lower) <= package, context


@pytest.mark.parametrize("name", SERVERS)
def test_the_banner_names_the_distribution_when_debian_builds_do(
    real_servers: RealServers, result: ScanResult, name: str
) -> None:
    service = _service(result, _server(real_servers, name))
    distro = identify(service).version.distro
    assert distro == ("Debian" if EXPECTED[name].names_debian else None), service.banner


@pytest.mark.parametrize("name", MAINTAINED)
def test_a_supported_release_branch_is_not_end_of_life(
    real_servers: RealServers, result: ScanResult, name: str
) -> None:
    server = _server(real_servers, name)
    _service(result, server)
    eol = [f.rule_id for f in _findings(result, server) if f.category == "end-of-life"]
    assert eol == []


@pytest.mark.parametrize("name", SERVERS)
def test_version_findings_on_a_debian_package_are_low_confidence_and_say_backports(
    real_servers: RealServers, result: ScanResult, name: str
) -> None:
    server = _server(real_servers, name)
    _service(result, server)
    for finding in _findings(result, server):
        if not _version_based(finding):
            continue
        assert finding.confidence is Confidence.LOW, finding.rule_id
        assert any("backport" in note.lower() for note in finding.notes), finding


@pytest.mark.parametrize("name", RANGES)
def test_a_version_range_gives_no_version_finding(
    real_servers: RealServers, result: ScanResult, name: str
) -> None:
    server = _server(real_servers, name)
    _service(result, server)
    assert [f.rule_id for f in _findings(result, server) if _version_based(f)] == []


@pytest.mark.parametrize("name", [n for n in UNNAMED if EXPECTED[n].reads is Reads.EXACT])
def test_an_unnamed_debian_package_is_recognised_by_its_shipped_version(
    real_servers: RealServers, result: ScanResult, name: str
) -> None:
    # The banner says nothing of Debian: the distribution data must know the
    # very version the installed package runs, and the caveat must say so.
    server = _server(real_servers, name)
    service = _service(result, server)
    attributed = attribute(identify(service), None, builtin_shipped()).version
    assert attributed.distro_reason == "Debian 12 (bookworm) ships exactly this version", (
        f"{name} {service.version}: update rules/distributions/debian-12.json"
    )
    for finding in _findings(result, server):
        if _version_based(finding):
            assert any("Debian 12 (bookworm) ships" in n for n in finding.notes), finding
