"""The coverage: what a scan looked at and found clean, and what it did not look at."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.assessment.coverage import (
    NOT_TESTED,
    check_text,
    checks_line,
    coverage_of,
    gap_kind,
    scanned_counts,
    untested_names,
)
from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.risk import assessed
from scanner.assessment.selection import narrowed, selection
from scanner.model import (
    BackportVerdict,
    CheckRun,
    Confidence,
    Finding,
    Host,
    NmapRun,
    Observation,
    PortStateCount,
    Reason,
    ScanResult,
    Severity,
    Vulnerability,
)
from scanner.result_io import dumps, loads
from tests.factories import (
    make_finding,
    make_host,
    make_observation,
    make_probe_error,
    make_result,
    make_service,
)
from tests.scanner.steps import Steps

WEB = "127.0.0.10"
DB = "127.0.0.11"


def _tls(host: str, port: int, key: str = "tls.handshake", value: str = "ok") -> Observation:
    return make_observation(host=host, port=port, probe="tls", key=key, value=value, evidence="")


def _https_host(address: str, ports: tuple[int, ...]) -> Host:
    return make_host(
        address=address,
        services=tuple(make_service(port=p, tunnel="ssl", version="2.4.62") for p in ports),
    )


def _checks(result: ScanResult, host: str) -> dict[str, CheckRun]:
    coverage = coverage_of(result)
    (found,) = [h for h in coverage.hosts if h.host == host]
    return {run.check: run for run in found.checks}


def test_four_tls_services_checked_and_none_weak_is_said_so() -> None:
    ports = (443, 8443, 9443, 10443)
    result = make_result(
        hosts=(_https_host(WEB, ports),),
        observations=tuple(_tls(WEB, p) for p in ports),
        findings=(),
        probe_errors=(),
    )
    tls = _checks(result, WEB)["tls"]
    assert (tls.checked, tls.weak, tls.incomplete, tls.ports) == (4, 0, 0, ports)
    assert check_text(tls) == "TLS: 4 services checked, none weak"


def test_hosts_checked_alike_share_their_checks() -> None:
    ports = (443, 8443)
    hosts = tuple(_https_host(address, ports) for address in (WEB, DB, "127.0.0.12"))
    result = make_result(
        hosts=hosts,
        # The third host's TLS was looked at on one of its ports only.
        observations=(
            *(_tls(h.address, p) for h in hosts[:2] for p in ports),
            _tls(hosts[2].address, 443),
        ),
        findings=(),
        probe_errors=(),
    )
    steps = Steps()

    web, db, other = coverage_of(result, progress=steps).hosts

    assert (web.host, db.host, other.host) == (WEB, DB, "127.0.0.12")
    assert db.checks is web.checks
    assert other.checks != web.checks
    versions = {run.check: run for run in web.checks}["versions"]
    assert {run.check: run for run in other.checks}["versions"] is versions
    assert steps.seen == [("assessing coverage", 3, 3, "hosts")]


def test_weak_unfinished_and_clean_services_are_told_apart() -> None:
    ports = (443, 8443, 9443, 10443)
    observations = (
        _tls(WEB, 443),
        _tls(WEB, 8443),
        _tls(WEB, 9443, value="failed"),  # the handshake never completed
    )
    weak = make_finding(rule_id="tls-1.0-accepted", port=443, severity=Severity.MEDIUM)
    info = make_finding(rule_id="tls-cert-expiring", port=8443, severity=Severity.INFO)
    error = make_probe_error(stage="probe:tls", target=WEB, port=10443, reason="TimeBudget")
    result = make_result(
        hosts=(_https_host(WEB, ports),),
        observations=observations,
        findings=(weak, info),
        probe_errors=(error,),
    )
    tls = _checks(result, WEB)["tls"]
    # An informational finding is no weakness; a probe that failed did not finish.
    assert (tls.checked, tls.weak, tls.incomplete) == (4, 1, 2)
    assert check_text(tls) == "TLS: 4 services checked: 1 weak, 2 not finished, 1 without a finding"
    assert "port 9443: handshake failed" in tls.notes
    assert "port 10443: tls probe TimeBudget" in tls.notes


def test_every_service_is_checked_for_versions_and_exposure_from_its_banner_alone() -> None:
    """A scan of imported nmap XML runs no probe: the rules still judged every banner."""
    host = make_host(
        address=DB,
        services=(
            make_service(port=22, name="ssh", product="OpenSSH", version="9.6"),
            make_service(port=3306, name="mysql", product="MySQL", version=""),
        ),
    )
    reachable = make_finding(
        rule_id="datastore-reachable", host=DB, port=3306, severity=Severity.HIGH
    )
    result = make_result(hosts=(host,), observations=(), findings=(reachable,), probe_errors=())
    checks = _checks(result, DB)
    assert (checks["versions"].checked, checks["versions"].ports) == (1, (22,))  # no version: none
    assert (checks["exposure"].checked, checks["exposure"].weak) == (2, 1)
    # The reachable rule is an exposure check, not a data-store login.
    assert "datastores" not in checks
    assert "tls" not in checks


def test_host_wide_checks_say_what_they_saw() -> None:
    posture = make_observation(
        host=WEB, port=None, probe="firewall", key="firewall.posture", value="unfiltered"
    )
    # Fewer than 100 resets: the rules cannot tell (an informational finding).
    undetermined = make_finding(
        rule_id="host-packet-filter-undetermined",
        title="Too few ports probed to tell whether the host is filtered",
        port=None,
        severity=Severity.INFO,
    )
    result = make_result(observations=(posture,), findings=(undetermined,), probe_errors=())
    run = _checks(result, WEB)["packet-filter"]
    assert (run.checked, run.weak, run.incomplete) == (1, 0, 1)
    assert run.notes == (
        "posture: unfiltered",
        "Too few ports probed to tell whether the host is filtered",
    )
    assert check_text(run) == "Packet filter: checked, could not tell"
    nothing = replace(posture, value="nothing-probed")
    run = _checks(replace(result, observations=(nothing,), findings=()), WEB)["packet-filter"]
    assert run.incomplete == 1
    flagged = make_finding(rule_id="host-no-packet-filter", port=None, severity=Severity.HIGH)
    run = _checks(replace(result, findings=(flagged,)), WEB)["packet-filter"]
    assert (run.weak, run.incomplete) == (1, 0)
    assert check_text(run) == "Packet filter: checked, weak"


def test_the_ports_are_said_with_their_choice_and_what_was_left_out() -> None:
    chosen = make_result(port_choice="-p 1-1024 (given)")
    host = make_host(probed_ports="tcp 1-1024")
    coverage = coverage_of(replace(chosen, hosts=(host,)))
    assert coverage.ports == "-p 1-1024 (given)"
    assert coverage.not_scanned == "the other 64,511 TCP ports and every UDP port"
    imported = replace(
        make_result(hosts=(make_host(probed_ports="tcp 22,80,8080; udp 161"),)),
        nmap=NmapRun(version="7.93", source="scan.xml"),
    )
    coverage = coverage_of(imported)
    assert coverage.ports == "tcp 22,80,8080; udp 161 (as the imported nmap XML records them)"
    assert coverage.not_scanned == "the other 65,532 TCP ports and UDP ports beyond those listed"
    local = make_result(hosts=(make_host(status="local", probed_ports=""),))
    assert coverage_of(replace(local, nmap=NmapRun())).ports.startswith("none over the network")


@pytest.mark.parametrize(
    ("probed", "counts"),
    [
        ("tcp 22,80,8080", {"tcp": 3}),
        ("tcp 1-1024,5432", {"tcp": 1025}),
        ("1000 tcp ports (1,3-4,6-7,...)", {"tcp": 1000}),
        ("tcp 80; udp 53,161", {"tcp": 1, "udp": 2}),
        ("", {}),
    ],
)
def test_scanned_ports_are_counted_per_protocol(probed: str, counts: dict[str, int]) -> None:
    assert scanned_counts(probed) == counts


def test_silence_timeouts_and_tarpits_are_listed() -> None:
    silent = make_host(
        address="127.0.0.12",
        status_reason="user-set",
        services=(),
        extraports=(PortStateCount("filtered", 1000, (Reason("no-response", 1000),)),),
    )
    tarpit = make_observation(
        host=WEB,
        port=8080,
        key="http.incomplete",
        value="budget",
        evidence="GET /: 3 bytes in 10 s",
    )
    errors = (
        make_probe_error(
            stage="discovery", target="batch 2 (127.0.0.20)", reason="timeout", port=None
        ),
        make_probe_error(stage="probe:http", target=WEB, port=80, reason="TimeBudget"),
        make_probe_error(stage="probe:redis", target=DB, port=6379, reason="ConnectionResetError"),
    )
    result = make_result(
        hosts=(*make_result().hosts, silent),
        observations=(tarpit,),
        probe_errors=errors,
        unanswered=("127.0.0.99",),
    )
    coverage = coverage_of(result)
    assert coverage.unanswered == ("127.0.0.99",)
    assert coverage.silent == ("127.0.0.12",)
    assert coverage.timed_out == (
        "batch 2 (127.0.0.20): its targets were not scanned",
        "http on 127.0.0.10:80: ran out of time",
        "web on 127.0.0.10:8080: held its answer back (GET /: 3 bytes in 10 s)",
    )
    assert [(g.kind, g.count) for g in coverage.gaps] == [
        ("nmap batch(es) timed out", 1),
        ("probe(s) ran out of time", 1),
        ("probe(s) failed", 1),
    ]
    assert gap_kind(errors[2]) == "probe(s) failed"


def _with_backports(fixed_all: bool) -> Finding:
    fixed = (
        Vulnerability(
            "CVE-2024-6387",
            Severity.HIGH,
            backport=BackportVerdict.FIXED,
            backport_evidence="DSA-5724-1: fixed in 1:9.2p1-2+deb12u3",
        ),
    )
    left = () if fixed_all else (Vulnerability("CVE-2023-51385", Severity.MEDIUM),)
    return make_finding(
        rule_id="openssh-known-vulnerabilities",
        host=DB,
        port=22,
        subject="openssh",
        confidence=Confidence.HIGH,
        vulnerabilities=left,
        fixed_by_distribution=fixed,
    )


def test_cves_the_distribution_fixed_are_listed_with_their_advisory() -> None:
    coverage = coverage_of(make_result(findings=(_with_backports(False),)))
    (group,) = coverage.fixed_by_distribution
    assert (group.host, group.port, group.product, group.cves) == (
        DB,
        22,
        "openssh",
        ("CVE-2024-6387",),
    )
    assert not group.entirely
    assert group.evidence == ("DSA-5724-1: fixed in 1:9.2p1-2+deb12u3",)
    (whole,) = coverage_of(make_result(findings=(_with_backports(True),))).fixed_by_distribution
    assert whole.entirely


def test_what_trustscan_never_tests_is_the_fixed_list() -> None:
    coverage = coverage_of(make_result())
    assert coverage.not_tested == NOT_TESTED
    names = untested_names(NOT_TESTED)
    assert names[:4] == ["SSLv3", "STARTTLS", "TLS cipher suites", "certificate revocation"]
    assert "UDP services" in names


def test_checks_line_totals_every_host() -> None:
    ports = (443, 8443)
    result = make_result(
        hosts=(_https_host(WEB, ports), _https_host(DB, (443,))),
        observations=(*(_tls(WEB, p) for p in ports), _tls(DB, 443)),
        findings=(make_finding(rule_id="tls-1.1-accepted", host=DB, port=443),),
        probe_errors=(),
    )
    line = checks_line(coverage_of(result))
    assert "TLS 2 of 3 services clean" in line


def test_assessing_a_result_records_its_coverage_and_record_counts() -> None:
    inventory = Inventory("assets.yaml", (Asset("shop", address=WEB, customer_records=5000),))
    done = assessed(make_result(), inventory)
    assert done.coverage is not None
    assert [h.host for h in done.coverage.hosts] == [WEB, DB]
    (counted,) = [r for r in done.coverage.records if r.host == WEB]
    assert (counted.port, counted.records, counted.source) == (None, 5000, "inventory")
    # The JSON result carries it, and reads back the same.
    assert loads(dumps(done), "r.json").coverage == done.coverage


def test_a_part_of_a_scan_keeps_the_checks_of_the_whole() -> None:
    """`report --min-severity high`: a check that found a medium weakness did
    not find nothing, though the part leaves the medium finding out."""
    ports = (443,)
    weak = make_finding(rule_id="tls-1.0-accepted", port=443, severity=Severity.MEDIUM)
    whole = assessed(
        make_result(
            hosts=(_https_host(WEB, ports),),
            observations=(_tls(WEB, 443),),
            findings=(weak,),
            probe_errors=(),
        )
    )
    part = assessed(narrowed(whole, selection([WEB], "high")))
    assert part.findings == ()
    assert part.coverage is not None
    (host,) = part.coverage.hosts
    (tls,) = [r for r in host.checks if r.check == "tls"]
    assert tls.weak == 1
    other = assessed(narrowed(whole, selection(["127.0.0.99"], None)))
    assert other.coverage is not None
    assert other.coverage.hosts == ()
