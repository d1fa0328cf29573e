"""The packet-filter posture read from nmap's port states."""

from __future__ import annotations

from scanner.discovery.nmap_xml import parse_file
from scanner.model import Observation, PortStateCount, Reason
from scanner.probes.firewall import PortTally, Posture, classify, posture_observations, tally
from tests.factories import make_host, make_service
from tests.support import FIXTURES


def _facts(observations: tuple[Observation, ...]) -> dict[str, str]:
    return {o.key: o.value for o in observations}


def _evidence(observations: tuple[Observation, ...], key: str) -> str:
    return next(o.evidence for o in observations if o.key == key)


def test_all_reset_is_unfiltered_and_counts_every_answer() -> None:
    host = make_host(probed_ports="1000 tcp ports (1,3-4,...)")
    observations = posture_observations(host)
    assert _facts(observations) == {
        "firewall.posture": "unfiltered",
        "firewall.probed_ports": "1000",
        "firewall.filtered_ports": "0",
        "firewall.answering_ports": "999",
    }
    assert all(o.port is None and o.host == host.address for o in observations)
    evidence = _evidence(observations, "firewall.posture")
    assert evidence.startswith("nmap scan of 1000 TCP ports (1000 tcp ports (1,3-4,...))")
    assert "1 open" in evidence
    assert "999 closed (reset): reset 999" in evidence


def test_silent_ports_are_filtered_with_their_reasons() -> None:
    host = make_host(
        extraports=(
            PortStateCount(
                "filtered", 999, (Reason("no-response", 990), Reason("admin-prohibited", 9))
            ),
        )
    )
    observations = posture_observations(host)
    assert _facts(observations)["firewall.posture"] == "filtered"
    assert _facts(observations)["firewall.answering_ports"] == "0"
    assert "999 filtered: no-response 990, admin-prohibited 9" in _evidence(
        observations, "firewall.posture"
    )


def test_listed_and_folded_ports_both_count() -> None:
    host = make_host(
        other_ports=(PortStateCount("closed", 2, (Reason("reset", 2),)),),
        extraports=(PortStateCount("filtered", 996, (Reason("no-response", 996),)),),
    )
    counts = tally(host)
    assert counts == PortTally(open=1, reset=2, filtered=996)
    assert classify(counts) is Posture.PARTIAL


def test_udp_and_open_filtered_ports_are_not_counted_as_answers() -> None:
    host = make_host(
        services=(
            make_service(port=161, protocol="udp", state="open|filtered", name="snmp"),
            make_service(),
        ),
        extraports=(),
    )
    counts = tally(host)
    assert counts.reset == 0
    assert counts.filtered == 0
    assert counts.open == 1
    assert classify(counts) is Posture.NOTHING_PROBED


def test_ack_scan_adds_its_own_verdict() -> None:
    syn = make_host()
    ack = make_host(
        services=(),
        other_ports=(PortStateCount("filtered", 1, (Reason("no-response", 1),)),),
        extraports=(PortStateCount("unfiltered", 999, (Reason("reset", 999),)),),
    )
    facts = _facts(posture_observations(syn, ack))
    assert facts["firewall.ack"] == "partially-filtered"
    assert facts["firewall.ack_filtered_ports"] == "1"
    # A filter the ACK scan saw keeps the SYN scan's resets from counting alone.
    assert facts["firewall.answering_ports"] == "999"


def test_ack_scan_of_an_unfiltered_host_counts_its_resets() -> None:
    syn = make_host(extraports=(PortStateCount("closed", 50, (Reason("reset", 50),)),))
    ack = make_host(
        services=(), extraports=(PortStateCount("unfiltered", 1000, (Reason("reset", 1000),)),)
    )
    facts = _facts(posture_observations(syn, ack))
    assert facts["firewall.ack"] == "unfiltered"
    assert facts["firewall.answering_ports"] == "1000"


def test_recorded_scan_says_which_ports_were_probed() -> None:
    host = parse_file(FIXTURES / "nmap" / "demo-lab.xml").hosts[0]
    evidence = _evidence(posture_observations(host), "firewall.posture")
    assert "(tcp 22,80,8080)" in evidence
    assert "of 3 TCP ports" in evidence


def test_long_port_lists_are_summarised() -> None:
    host = parse_file(FIXTURES / "nmap" / "apache-centos.xml").hosts[0]
    assert host.probed_ports.startswith("1000 tcp ports (1,3-4,")
    assert len(host.probed_ports) < 100
