"""A scan larger than one page: the riskiest part shown, the rest said and reachable."""

from __future__ import annotations

import re

from scanner.assessment.risk import assessed
from scanner.formats.html import HtmlFormatter
from scanner.formats.html_page import MAX_FINDINGS, MAX_HOSTS, on_the_page
from scanner.model import ScanResult, Severity
from tests.factories import make_finding, make_host, make_result


def _large(hosts: int, per_host: int) -> ScanResult:
    addresses = [f"10.{n >> 8 & 255}.{n & 255}.1" for n in range(hosts)]
    findings = tuple(
        make_finding(
            host=address,
            port=1000 + k,
            rule_id=f"rule-{k}",
            # One host in 97 has a critical finding: those must make the page.
            severity=Severity.CRITICAL if n % 97 == 0 and k == 0 else Severity.LOW,
        )
        for n, address in enumerate(addresses)
        for k in range(per_host)
    )
    result = make_result(hosts=tuple(make_host(address=a) for a in addresses), findings=findings)
    return assessed(result)


def test_a_result_within_the_budget_is_shown_whole() -> None:
    small = _large(10, 3)
    visible, cut = on_the_page(small)
    assert cut is None
    assert visible is small


def test_many_findings_are_cut_to_the_riskiest() -> None:
    large = _large(800, 8)
    visible, cut = on_the_page(large)
    assert cut is not None
    assert cut.findings == (MAX_FINDINGS, len(large.findings))
    assert cut.hosts == (800, 800)
    assert not cut.cut("hosts")
    criticals = [f for f in large.findings if f.severity is Severity.CRITICAL]
    assert set(criticals) <= set(visible.findings)


def test_many_hosts_are_cut_to_the_riskiest_and_their_findings_follow() -> None:
    large = _large(MAX_HOSTS + 500, 2)
    visible, cut = on_the_page(large)
    assert cut is not None
    assert cut.hosts == (MAX_HOSTS, len(large.hosts))
    assert cut.findings == (2 * MAX_HOSTS, len(large.findings))
    criticals = {f.host for f in large.findings if f.severity is Severity.CRITICAL}
    assert criticals <= {h.address for h in visible.hosts}
    assert {f.host for f in visible.findings} <= {h.address for h in visible.hosts}
    assert visible.assessment is not None
    assert {s.host for s in visible.assessment.plan} <= {h.address for h in visible.hosts}
    assert visible.assessment.trust == large.assessment.trust  # type: ignore[union-attr]


def test_the_page_of_a_large_result_is_bounded_and_tells_how_to_read_the_rest() -> None:
    large = _large(MAX_HOSTS + 500, 4)
    page = HtmlFormatter().format(large)
    assert page.count('<article class="finding ') == 4 * MAX_HOSTS
    assert page.count('<p class="cut">') >= 3
    assert f"This page shows {4 * MAX_HOSTS:,} of the {len(large.findings):,} findings" in page
    assert f"This page shows {MAX_HOSTS:,} of the {len(large.hosts):,} hosts" in page
    assert "trustscan report RESULT.json --host 10.1.0.0/16 -o part.html" in page
    # The summary counts the whole scan, not the page.
    assert f"{len(large.findings):,} findings on {len(large.hosts):,} hosts" in page
    hosts_offered = re.findall(r'<option value="(10\.[0-9.]+)"', page)
    assert 0 < len(set(hosts_offered)) <= MAX_HOSTS


def test_a_part_of_a_scan_says_so_at_the_top() -> None:
    part = make_result(selection="hosts 10.1.0.0/16; findings high or worse")
    page = HtmlFormatter().format(part)
    assert "<strong>A part of a scan:</strong> hosts 10.1.0.0/16; findings high or worse." in page
