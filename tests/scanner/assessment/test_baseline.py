"""A result against its baseline: new, unchanged, changed, fixed, not rescanned."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.assessment.baseline import (
    Baseline,
    answered,
    baseline_date,
    compared,
    port_probed,
    what_moved,
)
from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.risk import assessed
from scanner.model import (
    Acceptance,
    BaselineState,
    Confidence,
    Finding,
    Host,
    PortStateCount,
    Reason,
    ScanResult,
    Severity,
    Vulnerability,
)
from tests.factories import make_finding, make_host, make_probe_error, make_result, make_service

WEB, DB = "10.0.0.5", "10.0.0.6"
TAKEN = "2026-12-06T03:00:00+00:00"


def _vuln(cve: str) -> Vulnerability:
    return Vulnerability(cve, Severity.HIGH)


def _web(**overrides: object) -> Finding:
    fields: dict[str, object] = {
        "host": WEB,
        "rule_id": "apache-httpd-known-vulnerabilities",
        "subject": "apache-httpd",
        "severity": Severity.HIGH,
        "vulnerabilities": (_vuln("CVE-2021-41773"),),
    }
    fields.update(overrides)
    return make_finding(**fields)


def _db(**overrides: object) -> Finding:
    fields: dict[str, object] = {
        "host": DB,
        "port": 6379,
        "service": "redis",
        "rule_id": "redis-no-auth",
        "severity": Severity.CRITICAL,
    }
    fields.update(overrides)
    return make_finding(**fields)


def _host(address: str, *ports: int, **overrides: object) -> Host:
    fields: dict[str, object] = {
        "address": address,
        "services": tuple(make_service(port=p) for p in ports),
        "probed_ports": "tcp " + ",".join(str(p) for p in (80, 6379, 8080)),
    }
    fields.update(overrides)
    return make_host(**fields)


def _scan(*findings: Finding, hosts: tuple[Host, ...] | None = None) -> ScanResult:
    chosen = hosts if hosts is not None else (_host(WEB, 80), _host(DB, 6379))
    return make_result(findings=findings, hosts=chosen, probe_errors=(), finished=TAKEN)


def _compare(now: ScanResult, before: ScanResult) -> ScanResult:
    return compared(now, Baseline("previous.json", before))


def _states(result: ScanResult) -> dict[str, BaselineState | None]:
    return {f.rule_id: f.baseline for f in result.findings}


def test_each_state_and_the_counts() -> None:
    before = _scan(_web(), _db(), make_finding(host=WEB, rule_id="http-trace-enabled"))
    nginx = make_finding(host=WEB, port=8080, rule_id="nginx-outdated", subject="nginx")
    now = _scan(_web(), _db(severity=Severity.HIGH), nginx)
    done = _compare(now, before)
    assert _states(done) == {
        "apache-httpd-known-vulnerabilities": BaselineState.UNCHANGED,
        "redis-no-auth": BaselineState.CHANGED,
        "nginx-outdated": BaselineState.NEW,
    }
    comparison = done.baseline
    assert comparison is not None
    assert (comparison.new, comparison.changed, comparison.unchanged) == (1, 1, 1)
    assert [f.rule_id for f in comparison.fixed] == ["http-trace-enabled"]
    assert comparison.not_rescanned == ()
    assert comparison.source == "previous.json"
    assert comparison.taken == TAKEN


@pytest.mark.parametrize(
    ("moved", "words"),
    [
        ({"severity": Severity.CRITICAL}, "severity high \u2192 critical"),
        ({"confidence": Confidence.LOW}, "confidence high \u2192 low"),
        (
            {"vulnerabilities": (_vuln("CVE-2021-41773"), _vuln("CVE-2021-42013"))},
            "CVEs added: CVE-2021-42013",
        ),
        ({"vulnerabilities": ()}, "CVEs no longer listed: CVE-2021-41773"),
    ],
)
def test_changed_by_severity_confidence_or_cve_list(moved: dict[str, object], words: str) -> None:
    done = _compare(_scan(_web(**moved)), _scan(_web()))
    (finding,) = done.findings
    assert finding.baseline is BaselineState.CHANGED
    assert what_moved(finding) == words
    assert any(TAKEN in note and words in note for note in finding.notes)


def test_a_new_title_order_or_evidence_is_no_change() -> None:
    two = (_vuln("CVE-2021-41773"), _vuln("CVE-2021-42013"))
    before = _scan(_web(vulnerabilities=two, title="Apache httpd 2.4.49 has 2"))
    now = _scan(
        _web(
            vulnerabilities=tuple(reversed(two)),
            title="Apache httpd 2.4.50 has 2",
            evidence=("nmap: 80/tcp http: Apache httpd 2.4.50",),
        )
    )
    (finding,) = _compare(now, before).findings
    assert finding.baseline is BaselineState.UNCHANGED
    assert what_moved(finding) == ""


def test_a_finding_gone_from_a_host_scanned_again_is_fixed() -> None:
    done = _compare(_scan(), _scan(_web(), _db()))
    assert done.baseline is not None
    assert [f.rule_id for f in done.baseline.fixed] == ["redis-no-auth", _web().rule_id]
    assert done.baseline.not_rescanned == ()


def test_a_host_not_scanned_this_time_is_not_rescanned_never_fixed() -> None:
    # The second scan covered the web server only (fewer targets).
    done = _compare(_scan(hosts=(_host(WEB, 80),)), _scan(_web(), _db()))
    assert done.baseline is not None
    assert [f.rule_id for f in done.baseline.fixed] == [_web().rule_id]
    assert [f.rule_id for f in done.baseline.not_rescanned] == ["redis-no-auth"]


def test_a_host_that_did_not_answer_is_not_rescanned() -> None:
    # Under -Pn nmap lists every target as up; all ports filtered is a host that is off.
    silent = _host(
        DB,
        status_reason="user-set",
        extraports=(PortStateCount("filtered", 3, (Reason("no-response", 3),)),),
    )
    down = _host(DB, status="down", status_reason="no-response")
    for host in (silent, down):
        done = _compare(_scan(hosts=(_host(WEB, 80), host)), _scan(_db()))
        assert done.baseline is not None
        assert done.baseline.fixed == ()
        assert [f.rule_id for f in done.baseline.not_rescanned] == ["redis-no-auth"]


def test_a_port_not_probed_or_whose_probe_failed_is_not_rescanned() -> None:
    only_web = _host(DB, probed_ports="tcp 80,443")
    failed = make_probe_error(stage="probe:redis", target=DB, port=6379)
    for hosts, errors in (
        ((only_web,), ()),
        ((_host(DB, 6379),), (failed,)),
    ):
        done = _compare(replace(_scan(hosts=hosts), probe_errors=errors), _scan(_db()))
        assert done.baseline is not None
        assert done.baseline.fixed == ()
        assert len(done.baseline.not_rescanned) == 1
    # A failure on another port says nothing about this one.
    other = make_probe_error(target=DB, port=443)
    done = _compare(replace(_scan(hosts=(_host(DB),)), probe_errors=(other,)), _scan(_db()))
    assert done.baseline is not None
    assert len(done.baseline.fixed) == 1


def test_a_system_that_moved_address_is_found_by_its_system() -> None:
    inventory = Inventory("assets.yaml", (Asset("cache", hostname="cache.example.test"),))
    named = ("cache.example.test",)
    before = assessed(_scan(_db(), hosts=(_host(DB, 6379, hostnames=named),)), inventory)
    moved = "10.0.0.7"
    now = assessed(_scan(hosts=(_host(moved, hostnames=named),)), inventory)
    done = _compare(now, before)
    assert done.baseline is not None
    assert [f.host for f in done.baseline.fixed] == [DB]
    # Still there at its new address: the same finding, unchanged.
    still = assessed(
        _scan(_db(host=moved), hosts=(_host(moved, 6379, hostnames=named),)), inventory
    )
    assert _states(_compare(still, before)) == {"redis-no-auth": BaselineState.UNCHANGED}
    # A system that stands for several hosts keys by address: another of its
    # hosts, at another address, is not the host the finding was on.
    farm = Inventory("assets.yaml", (Asset("cache-farm", cidr="10.0.0.0/24"),))
    before = assessed(_scan(_db(), hosts=(_host(DB, 6379),)), farm)
    other = _compare(assessed(_scan(hosts=(_host(moved),)), farm), before)
    assert other.baseline is not None
    assert other.baseline.fixed == ()
    assert [f.host for f in other.baseline.not_rescanned] == [DB]


def test_accepted_findings_are_compared_like_any_other() -> None:
    accepted = Acceptance("ops@example.test", "2027-01-31", "behind the VPN", "accept.yaml:3")
    before = _scan(_db(accepted=accepted), make_finding(host=WEB, accepted=accepted))
    done = _compare(_scan(_db(accepted=accepted, severity=Severity.HIGH)), before)
    assert _states(done) == {"redis-no-auth": BaselineState.CHANGED}
    assert done.baseline is not None
    assert [f.accepted for f in done.baseline.fixed] == [accepted]


def test_comparing_again_replaces_the_earlier_comparison() -> None:
    first = _compare(_scan(_web(severity=Severity.CRITICAL)), _scan(_web()))
    assert first.findings[0].baseline is BaselineState.CHANGED
    again = _compare(first, _scan(_web(severity=Severity.CRITICAL)))
    (finding,) = again.findings
    assert finding.baseline is BaselineState.UNCHANGED
    assert what_moved(finding) == ""
    assert not any(note.startswith("Since the baseline") for note in finding.notes)


def test_the_baselines_own_states_are_not_carried_into_fixed() -> None:
    # The baseline had been compared itself: the Redis finding was changed then.
    before = _compare(_scan(_db()), _scan(_db(severity=Severity.HIGH)))
    assert before.findings[0].baseline is BaselineState.CHANGED
    done = _compare(_scan(), before)
    assert done.baseline is not None
    (fixed,) = done.baseline.fixed
    assert fixed.baseline is None
    assert what_moved(fixed) == ""
    assert fixed.notes == _db().notes


def test_duplicate_fingerprints_in_a_baseline_count_once() -> None:
    done = _compare(_scan(), _scan(_db(), _db()))
    assert done.baseline is not None
    assert len(done.baseline.fixed) == 1


@pytest.mark.parametrize(
    ("probed", "protocol", "port", "expected"),
    [
        ("tcp 22,80,8080", "tcp", 80, True),
        ("tcp 22,80,8080", "tcp", 81, False),
        ("tcp 1-100,443", "tcp", 99, True),
        ("tcp 1-100,443", "tcp", 442, False),
        ("tcp 80; udp 53,161", "udp", 161, True),
        ("tcp 80; udp 53,161", "udp", 80, False),
        ("tcp 80", "udp", 53, False),
        ("1000 tcp ports (1,3-4,6-7,...)", "tcp", 31337, True),  # the list was not kept
        ("", "tcp", 31337, True),  # an older result records none
    ],
)
def test_port_probed(probed: str, protocol: str, port: int, expected: bool) -> None:
    assert port_probed(probed, protocol, port) is expected


def test_answered() -> None:
    assert answered(make_host())  # user-set, but 999 ports answered with a reset
    assert answered(make_host(status_reason="syn-ack", services=(), extraports=()))
    assert answered(make_host(status="local", status_reason="trustscan local"))
    assert not answered(make_host(status="down"))
    assert not answered(make_host(services=(), extraports=(PortStateCount("filtered", 1000, ()),)))
    # UDP silence: open|filtered, listed as a service or counted, is no answer.
    silent = make_service(port=161, protocol="udp", state="open|filtered")
    assert not answered(make_host(services=(silent,), extraports=()))
    for state, heard in (("open|filtered", False), ("unfiltered", True)):
        counted = make_host(services=(), extraports=(PortStateCount(state, 9, ()),))
        assert answered(counted) is heard


def test_baseline_date() -> None:
    assert baseline_date(TAKEN) == "2026-12-06"
    assert baseline_date("") == "?"


def test_an_odd_baseline_time_is_never_read_as_a_change() -> None:
    odd = replace(_scan(_web()), finished="then: severity none \u2192 all")
    (finding,) = _compare(_scan(_web(severity=Severity.CRITICAL)), odd).findings
    assert what_moved(finding) == "severity high \u2192 critical"
