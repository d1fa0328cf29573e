"""What the console says about coverage: the gaps (test_table), and the short
account of what was checked and found clean and what was not scanned."""

from __future__ import annotations

from pathlib import Path

from scanner.assessment.risk import assessed
from scanner.model import PortStateCount, Reason
from scanner.outputs.coverage import coverage_summary, held_back, silent_hosts
from scanner.outputs.summary import summary_line
from tests.factories import make_host, make_observation, make_result


def test_the_summary_says_what_was_checked_clean_and_what_was_not_scanned() -> None:
    result = assessed(make_result(port_choice="-p 1-1024 (given)"))
    checked, untested = coverage_summary(result)
    assert checked == (
        "trustscan: checked, clean: Versions 2 of 4 services clean; "
        "Exposure 4 of 4 services clean; Web 1 of 1 service clean"
    )
    assert untested.startswith(
        "trustscan: not scanned: the other 64,511 TCP ports and every UDP port; never tested: "
        "SSLv3, STARTTLS, TLS cipher suites, certificate revocation, UDP services"
    )
    assert "\n" not in checked + untested


def test_a_result_of_an_older_version_gets_its_coverage_made() -> None:
    lines = coverage_summary(make_result())  # not assessed: no coverage recorded
    assert lines[0].startswith("trustscan: checked, clean: Versions")


def test_the_closing_line_names_silent_hosts_and_tarpits() -> None:
    silent = make_host(
        address="127.0.0.12",
        status_reason="user-set",
        services=(),
        extraports=(PortStateCount("filtered", 1000, (Reason("no-response", 1000),)),),
    )
    tarpit = make_observation(port=8080, key="http.incomplete", value="budget")
    result = make_result(
        hosts=(*make_result().hosts, silent), observations=(tarpit,), probe_errors=()
    )
    assert (silent_hosts(result), held_back(result)) == (1, 1)
    line = summary_line(result, [Path("r.html")])
    assert line.startswith(
        "3 host(s) up, 1 host(s) up but silent on every port, "
        "1 service(s) held their answers back, 4 finding(s)"
    )
    assert silent_hosts(make_result()) == 0
