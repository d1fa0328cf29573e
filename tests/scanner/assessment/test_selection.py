"""A part of a scan: the hosts and severities `report --host/--min-severity` keep."""

from __future__ import annotations

import pytest

from scanner.assessment.selection import narrowed, selection
from scanner.model import ScanResult, Severity
from scanner.support.errors import InputError
from tests.factories import (
    make_finding,
    make_host,
    make_observation,
    make_probe_error,
    make_result,
)


def _scan() -> ScanResult:
    hosts = (
        make_host(address="10.1.0.5", hostnames=("shop.example.com",)),
        make_host(address="10.1.0.6"),
        make_host(address="10.2.0.7"),
    )
    findings = (
        make_finding(host="10.1.0.5", severity=Severity.CRITICAL, rule_id="a"),
        make_finding(host="10.1.0.5", severity=Severity.LOW, rule_id="b"),
        make_finding(host="10.1.0.6", severity=Severity.HIGH, rule_id="c"),
        make_finding(host="10.2.0.7", severity=Severity.CRITICAL, rule_id="d"),
    )
    return make_result(
        hosts=hosts,
        findings=findings,
        observations=tuple(make_observation(host=h.address) for h in hosts),
        probe_errors=(
            make_probe_error(target="10.2.0.7"),
            make_probe_error(target="batch 1 (10.1.0.1 .. 10.2.0.9)"),
        ),
        unanswered=("10.1.0.9", "10.2.0.9"),
    )


def test_a_block_keeps_its_hosts_their_data_and_the_errors_about_coverage() -> None:
    part = narrowed(_scan(), selection(["10.1.0.0/16"], None))
    assert [h.address for h in part.hosts] == ["10.1.0.5", "10.1.0.6"]
    assert [f.rule_id for f in part.findings] == ["a", "b", "c"]
    assert {o.host for o in part.observations} == {"10.1.0.5", "10.1.0.6"}
    assert [e.target for e in part.probe_errors] == ["batch 1 (10.1.0.1 .. 10.2.0.9)"]
    assert part.unanswered == ("10.1.0.9",)
    assert part.selection == "hosts 10.1.0.0/16"
    assert part.assessment is None


def test_severity_and_names_narrow_too_and_say_so() -> None:
    part = narrowed(_scan(), selection(["shop.example.com", "10.2.0.7"], "high"))
    assert [f.rule_id for f in part.findings] == ["a", "d"]
    assert part.selection == "hosts 10.2.0.7, shop.example.com; findings high or worse"
    again = narrowed(part, selection([], "critical"))
    assert again.selection == (
        "hosts 10.2.0.7, shop.example.com; findings high or worse; findings critical or worse"
    )


@pytest.mark.parametrize("junk", ["bad host!", "10.0.0.0/33", "-rf", "a" * 300, ""])
def test_a_host_that_is_no_address_block_or_name_is_refused(junk: str) -> None:
    with pytest.raises(InputError, match="--host"):
        selection([junk], None)
