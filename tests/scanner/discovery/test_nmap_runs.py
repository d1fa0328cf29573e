"""Discovery against real nmap and the lab's Apache look-alikes on loopback."""

from __future__ import annotations

import os

import pytest

from fixtures.lab.servers import Lab
from scanner.discovery.nmap_runs import (
    BatchOutcome,
    Discovery,
    DiscoveryOptions,
    discover,
    make_batches,
)
from scanner.model import Host, Target, TargetKind
from scanner.support.errors import InputError, ScanFailed
from tests.support import EMPTY_HOST, requires_nmap

pytestmark = [pytest.mark.integration, requires_nmap]


def _targets(*values: str) -> list[Target]:
    return [Target(v, TargetKind.ADDRESS, "test") for v in values]


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def batch_done(self, outcome: BatchOutcome | None, done: int, total: int) -> None:
        self.calls.append((done, total))


@pytest.fixture(scope="module")
def recorder() -> _Recorder:
    return _Recorder()


@pytest.fixture(scope="module")
def found(lab: Lab, recorder: _Recorder) -> Discovery:
    addresses = [r.address for r in lab.running] + [EMPTY_HOST]
    ports = ",".join(["1-1024", *sorted({str(r.port) for r in lab.running if r.port > 1024})])
    options = DiscoveryOptions(ports=ports, batch_size=2, parallel=2)
    return discover(_targets(*addresses), options, [recorder])


def _host(found: Discovery, address: str) -> Host:
    return next(h for h in found.hosts if h.address == address)


def test_nmap_fingerprints_the_centos_apache(lab: Lab, found: Discovery) -> None:
    running = lab.address_of("centos6-apache")
    host = _host(found, running.address)
    (service,) = host.services
    assert service.port == running.port
    assert (service.name, service.product, service.version) == ("http", "Apache httpd", "2.2.15")
    assert service.extrainfo == "(CentOS)"
    assert service.method == "probed"
    assert "cpe:/a:apache:http_server:2.2.15" in service.cpes


def test_every_lab_target_is_identified(lab: Lab, found: Discovery) -> None:
    for running in lab.running:
        service = _host(found, running.address).services[0]
        if running.target.kind == "ssh":
            assert (service.product, service.version) == ("OpenSSH", "7.4")
            continue
        expected = running.target.server.split("/")[1].split()[0]
        assert service.product == "Apache httpd"
        assert service.version == expected


def test_closed_ports_are_counted_with_their_reason(found: Discovery) -> None:
    host = _host(found, EMPTY_HOST)
    assert host.services == ()
    closed = [p for p in host.extraports if p.state == "closed"]
    assert closed, host.extraports
    # A SYN scan (root) sees resets; a connect scan sees refused connections.
    expected_reason = "reset" if os.geteuid() == 0 else "conn-refused"
    assert closed[0].count >= 1000
    assert [r.reason for r in closed[0].reasons] == [expected_reason]


def test_batches_run_separately_and_report_progress(
    found: Discovery, recorder: _Recorder, lab: Lab
) -> None:
    total = len(lab.running) + 1
    assert len(found.nmap.commands) == -(-total // 2)  # batches of 2
    assert found.nmap.version
    assert all(c.startswith("nmap ") and "-sV" in c for c in found.nmap.commands)
    assert recorder.calls[0] == (0, total)
    assert recorder.calls[-1] == (total, total)
    assert [d for d, _ in recorder.calls] == sorted(d for d, _ in recorder.calls)
    assert found.errors == ()


def test_a_slow_batch_loses_only_its_own_hosts(lab: Lab) -> None:
    # -sV waits ~6 s for the web server's banner; the empty host answers at once.
    slow = lab.address_of("apache-2.4.49")
    options = DiscoveryOptions(ports=str(slow.port), batch_size=1, parallel=2, batch_timeout=2)
    result = discover(_targets(slow.address, EMPTY_HOST), options)
    assert [h.address for h in result.hosts] == [EMPTY_HOST]
    (error,) = result.errors
    assert error.stage == "discovery"
    assert error.reason == "timeout"
    assert slow.address in error.target


def test_every_batch_failing_is_a_failed_scan(lab: Lab) -> None:
    slow = lab.address_of("apache-2.4.49")
    options = DiscoveryOptions(ports=str(slow.port), batch_timeout=1)
    with pytest.raises(ScanFailed, match="every batch"):
        discover(_targets(slow.address), options)


def test_missing_nmap_is_one_clear_error() -> None:
    options = DiscoveryOptions(ports="80", nmap_path="/nonexistent/nmap")
    with pytest.raises(ScanFailed, match="nmap was not found: install it"):
        discover(_targets("127.0.0.1"), options)


def test_options_trustscan_sets_itself_are_refused() -> None:
    with pytest.raises(InputError, match="-oX"):
        discover(_targets("127.0.0.1"), DiscoveryOptions(extra_args=("-oX",)))


def test_ipv4_and_ipv6_targets_go_to_separate_batches() -> None:
    targets = _targets("127.0.0.1", "::1", "127.0.0.2")
    batches = make_batches(targets, DiscoveryOptions(batch_size=10))
    assert [[t.value for t in b] for b in batches] == [["127.0.0.1", "127.0.0.2"], ["::1"]]
