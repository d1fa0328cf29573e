"""A scan larger than one page: the riskiest part shown, the rest said and reachable."""

from __future__ import annotations

import re

from scanner.assessment.risk import assessed
from scanner.formats.html import PLAN_REFS, HtmlFormatter
from scanner.formats.html_findings import PRINT_LIMIT, FindingRef, grouped_refs
from scanner.formats.html_page import MAX_HOSTS, MAX_PLAN, on_the_page
from scanner.model import ScanResult, Severity
from tests.factories import make_finding, make_host, make_result
from tests.scanner.formats.many_findings import many_findings
from tests.scanner.formats.page_data import embedded_data


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


def test_many_findings_are_all_kept_and_the_printed_list_is_cut() -> None:
    large = _large(800, 8)
    visible, cut = on_the_page(large)
    assert cut is not None
    assert visible.findings == large.findings
    assert cut.findings == (PRINT_LIMIT, len(large.findings))
    assert cut.hosts == (800, 800)
    assert not cut.cut("hosts")


def test_many_hosts_are_cut_to_the_riskiest_and_the_findings_stay_whole() -> None:
    large = _large(MAX_HOSTS + 500, 2)
    visible, cut = on_the_page(large)
    assert cut is not None
    assert cut.hosts == (MAX_HOSTS, len(large.hosts))
    assert visible.findings == large.findings
    criticals = {f.host for f in large.findings if f.severity is Severity.CRITICAL}
    assert criticals <= {h.address for h in visible.hosts}
    assert visible.assessment is not None
    assert large.assessment is not None
    assert {s.host for s in visible.assessment.plan} <= {h.address for h in visible.hosts}
    assert len(visible.assessment.plan) <= MAX_PLAN
    assert visible.assessment.findings == large.assessment.findings
    assert visible.assessment.trust.records_at_risk == large.assessment.trust.records_at_risk


def test_the_page_of_a_large_result_holds_every_finding_and_says_what_it_prints() -> None:
    large = _large(MAX_HOSTS + 500, 4)
    page = HtmlFormatter().format(large)
    data = embedded_data(page)
    assert len(data["findings"]) == len(large.findings) == data["count"]
    assert {r[0] for r in data["findings"]} == {f.fingerprint for f in large.findings}
    assert page.count('<article class="finding ') == PRINT_LIMIT
    assert (
        f"this list shows the riskiest {PRINT_LIMIT:,} of the {len(large.findings):,} findings"
        in page
    )
    assert f"This page shows {MAX_HOSTS:,} of the {len(large.hosts):,} hosts" in page
    assert "trustscan report RESULT.json --host 10.1.0.0/16 -o part.html" in page
    # The summary counts the whole scan, not the page.
    assert f"{len(large.findings):,} findings on {len(large.hosts):,} hosts" in page
    # Every host with a finding can be chosen in the filter, not only those laid out.
    hosts_offered = set(re.findall(r'<option value="(10\.[0-9.]+)"', page))
    assert hosts_offered == {f.host for f in large.findings}


def test_a_part_of_a_scan_says_so_at_the_top() -> None:
    part = make_result(selection="hosts 10.1.0.0/16; findings high or worse")
    page = HtmlFormatter().format(part)
    assert "<strong>A part of a scan:</strong> hosts 10.1.0.0/16; findings high or worse." in page


def test_a_plan_step_names_each_title_once_and_counts_the_rest() -> None:
    result = many_findings(2_000)
    assert result.assessment is not None
    step = next(s for s in result.assessment.plan if len(s.fingerprints) > 1)
    page = HtmlFormatter().format(result)
    row = re.search(rf'<div class="prow" role="row" id="p-{step.rank}">.*?</div>', page, re.S)
    assert row is not None
    # The generated scan gives each rule one title: one link, with the count.
    assert len(set(step.titles)) == 1
    assert row.group(0).count('<a href="#f-') == 1
    assert f"(&times;{len(set(step.fingerprints))})" in row.group(0)


def test_grouped_refs_name_the_first_titles_and_count_the_rest() -> None:
    refs = {f"fp{i}": FindingRef(f"f-fp{i}", f"title {i % 12}", "") for i in range(30)}
    grouped = grouped_refs([*refs, "fp0", "unknown"], refs, PLAN_REFS)
    assert [g.first.title for g in grouped.shown] == [f"title {i}" for i in range(PLAN_REFS)]
    assert [g.count for g in grouped.shown] == [3] * 6 + [2] * 2
    assert grouped.more == 30 - 22
