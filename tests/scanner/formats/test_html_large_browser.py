"""A report of 20,000 findings in a real browser (Debian's Chromium through
Playwright): the page holds every finding as data and builds only the rows
near the screen; it scrolls to the last finding, filters, sorts and searches
the data, opens a finding, prints its printed list, and logs no console error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from fixtures.browser import CHROMIUM
from scanner.formats.html import HtmlFormatter
from scanner.formats.html_findings import MAX_HOST_OPTIONS, PRINT_LIMIT
from scanner.model import ScanResult, Severity
from tests.factories import make_finding, make_result
from tests.scanner.formats.many_findings import address, many_findings, needle
from tests.scanner.formats.page_data import embedded_data

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright.expect
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (.ci/run installs it)"
)

COUNT = 20_000
ROWS = "#frows .finding"
# Rows the page may hold at once: those near the screen (blocks of 10 within
# a quarter of a screen of the window, and a few a reader tabbed to), never the list.
MAX_BUILT = 200


@dataclass(frozen=True)
class Large:
    result: ScanResult
    path: Path
    data: dict[str, Any]  # the page's embedded findings, decoded

    def fingerprint_at(self, position: int) -> str:
        """The fingerprint of the finding at `position` in the report's order."""
        return str(self.data["findings"][position][0])


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Large:
    result = many_findings(COUNT)
    page = HtmlFormatter().format(result)
    path = tmp_path_factory.mktemp("large") / "report.html"
    path.write_text(page, encoding="utf-8")
    return Large(result, path, embedded_data(page))


@dataclass
class Opened:
    page: Page
    problems: list[str]
    requests: list[str]


def _open(browser: Browser, path: Path, javascript: bool = True) -> Opened:
    page = browser.new_page(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    opened = Opened(page, [], [])
    page.on(
        "console",
        lambda m: opened.problems.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda error: opened.problems.append(str(error)))
    page.on("request", lambda request: opened.requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    if javascript:
        page.wait_for_function("document.documentElement.dataset.findings === 'ready'")
    return opened


@pytest.fixture
def report(browser: Browser, large: Large) -> Iterator[Page]:
    opened = _open(browser, large.path)
    yield opened.page
    assert opened.problems == []
    assert opened.requests == [large.path.as_uri()]
    opened.page.close()


def _count(page: Page) -> str:
    return page.inner_text("#fc-count")


def _built(page: Page) -> int:
    return int(page.eval_on_selector_all(ROWS, "rows => rows.length"))


def _rows(page: Page, attribute: str) -> list[str]:
    values = page.eval_on_selector_all(
        ROWS, f"rows => rows.map(r => r.getAttribute('{attribute}'))"
    )
    return [str(v) for v in values]


def _scroll_to_the_end_of_the_list(page: Page) -> None:
    """Scroll down as a reader does, a screenful at a time (mouse wheel), until
    the list's end is on screen."""
    for _ in range(2_000):
        bottom = page.eval_on_selector("#frows", "l => l.getBoundingClientRect().bottom")
        if bottom <= 900:
            return
        page.mouse.wheel(0, 20_000)
        page.wait_for_timeout(20)
    raise AssertionError("the end of the list was never reached")


# -- loading -----------------------------------------------------------------------------


def test_the_page_holds_every_finding_and_builds_only_what_is_near_the_screen(
    report: Page, large: Large
) -> None:
    assert len(large.data["findings"]) == COUNT
    assert _count(report) == f"showing {COUNT:,} of {COUNT:,} findings"
    assert 0 < _built(report) <= MAX_BUILT
    # The printed list is one text node in <noscript>: nothing laid out.
    assert report.eval_on_selector("#fprint", "e => e.querySelectorAll('*').length") == 1
    first = report.locator(ROWS).first
    assert first.get_attribute("id") == f"f-{large.fingerprint_at(0)}"


def test_scrolling_reaches_the_last_finding_and_the_page_stays_small(
    report: Page, large: Large
) -> None:
    report.locator("#frows").scroll_into_view_if_needed()
    _scroll_to_the_end_of_the_list(report)
    last = report.locator(f"#f-{large.fingerprint_at(COUNT - 1)}")
    expect(last).to_be_visible()
    assert report.locator(ROWS).last.get_attribute("id") == last.get_attribute("id")
    assert _built(report) <= MAX_BUILT  # the blocks scrolled past were emptied
    # And back up to the first: the rows come back.
    report.locator("#findings-h").scroll_into_view_if_needed()
    expect(report.locator(f"#f-{large.fingerprint_at(0)}")).to_be_visible()


# -- filters, sorts, search -------------------------------------------------------------


def test_filters_work_on_every_finding(report: Page, large: Large) -> None:
    criticals = [f for f in large.result.findings if f.severity is Severity.CRITICAL]
    report.select_option("#fc-sev", "4")
    assert _count(report) == f"showing {len(criticals):,} of {COUNT:,} findings"
    assert set(_rows(report, "data-sev")) == {"4"}
    rule = large.result.findings[-1].rule_id
    both = [f for f in criticals if f.rule_id == rule]
    report.select_option("#fc-rule", rule)
    assert _count(report) == f"showing {len(both):,} of {COUNT:,} findings"
    assert set(_rows(report, "data-rule")) == {rule}
    report.click("#fc-reset")
    assert _count(report) == f"showing {COUNT:,} of {COUNT:,} findings"


def test_a_scan_of_many_hosts_filters_by_an_address_or_its_start(
    report: Page, large: Large
) -> None:
    # 1,000 hosts, fewer than the list's limit: a list of hosts.
    assert report.eval_on_selector("#fc-host", "e => e.tagName") == "SELECT"
    host = large.result.findings[123].host
    report.select_option("#fc-host", host)
    on_host = sum(1 for f in large.result.findings if f.host == host)
    assert _count(report) == f"showing {on_host:,} of {COUNT:,} findings"
    assert set(_rows(report, "data-host")) == {host}


def test_a_scan_of_more_hosts_than_a_list_can_offer_takes_an_address_or_its_start(
    browser: Browser, tmp_path: Path
) -> None:
    hosts = MAX_HOST_OPTIONS + 100
    result = make_result(
        findings=tuple(make_finding(host=address(n)) for n in range(hosts)), observations=()
    )
    path = tmp_path / "hosts.html"
    path.write_text(HtmlFormatter().format(result), encoding="utf-8")
    opened = _open(browser, path)
    page = opened.page
    assert page.eval_on_selector("#fc-host", "e => e.tagName") == "INPUT"
    prefix = "10.0.3."
    starting = sum(1 for f in result.findings if f.host.startswith(prefix))
    page.fill("#fc-host", prefix)
    expect(page.locator("#fc-count")).to_have_text(f"showing {starting:,} of {hosts:,} findings")
    assert all(h.startswith(prefix) for h in _rows(page, "data-host"))
    page.fill("#fc-host", address(2_050))
    expect(page.locator("#fc-count")).to_have_text(f"showing 1 of {hosts:,} findings")
    assert opened.problems == []
    page.close()


def test_sorts_order_every_finding(report: Page, large: Large) -> None:
    report.select_option("#fc-sort", "host")
    first_host = min(large.result.findings, key=lambda f: (_key(f.host), f.port or -1)).host
    hosts = [int(v) for v in _rows(report, "data-ho")]
    assert hosts == sorted(hosts)
    assert _rows(report, "data-host")[0] == first_host
    report.click('.fhead [data-sort="title"]')
    assert report.get_attribute(".fhead .c-title", "aria-sort") == "ascending"
    titles = report.eval_on_selector_all(ROWS + " .tg", "bs => bs.map(b => b.textContent)")
    assert titles == sorted(titles, key=str.casefold)
    report.click('.fhead [data-sort="title"]')
    titles = report.eval_on_selector_all(ROWS + " .tg", "bs => bs.map(b => b.textContent)")
    assert titles[0] == max(f.title for f in large.result.findings)
    # After a sort the list starts again at its first row, and scrolls to its last.
    _scroll_to_the_end_of_the_list(report)
    assert report.locator(ROWS).last.is_visible()


def _key(address: str) -> tuple[int, ...]:
    return tuple(int(p) for p in address.split("."))


def test_search_finds_one_finding_among_all_by_its_evidence_and_many_by_a_cve(
    report: Page, large: Large
) -> None:
    position = COUNT - 7  # far down the list: never built before the search
    fingerprint = large.fingerprint_at(position)
    finding = next(f for f in large.result.findings if f.fingerprint == fingerprint)
    report.fill("#fc-q", needle(int(finding.subject)).upper())
    expect(report.locator("#fc-count")).to_have_text(f"showing 1 of {COUNT:,} findings")
    assert _rows(report, "id") == [f"f-{fingerprint}"]
    # A CVE is in a vulnerability list the findings of a rule share.
    cve = next(f for f in large.result.findings if f.vulnerabilities).vulnerabilities[2].id
    with_cve = sum(1 for f in large.result.findings if cve in {v.id for v in f.vulnerabilities})
    report.fill("#fc-q", cve)
    expect(report.locator("#fc-count")).to_have_text(f"showing {with_cve:,} of {COUNT:,} findings")
    report.fill("#fc-q", "no finding says this")
    expect(report.locator("#fc-count")).to_have_text(f"showing 0 of {COUNT:,} findings")
    expect(report.locator("#frows .empty")).to_have_text("No finding matches.")


# -- a finding, a link to one, print ------------------------------------------------------


def test_a_finding_opens_with_its_details(report: Page, large: Large) -> None:
    report.fill("#fc-q", "CVE-2024-00002")  # rule 0's list
    with_list = sum(1 for f in large.result.findings if f.rule_id.endswith("-rule-00"))
    expect(report.locator("#fc-count")).to_have_text(f"showing {with_list:,} of {COUNT:,} findings")
    row = report.locator(ROWS).first
    row.locator(".tg").click()
    detail = row.locator(".fdetail")
    expect(detail).to_be_visible()
    text = detail.inner_text()
    assert "generated evidence needle-" in text
    assert "Fix weakness 00 by doing the right thing." in text
    assert detail.locator("table.vulns tbody tr").count() == 5
    assert detail.locator("a.vref").first.get_attribute("href") == (
        "https://nvd.nist.gov/vuln/detail/CVE-2024-00000"
    )
    assert row.locator(".tg").get_attribute("aria-expanded") == "true"


def test_a_link_from_the_plan_reaches_a_finding_the_list_had_not_built(
    report: Page, large: Large
) -> None:
    report.select_option("#fc-sev", "0")  # info only: the plan's first findings are not shown
    link = report.locator("#p-1 a[href^='#f-']").first
    target = str(link.get_attribute("href"))
    link.click()
    row = report.locator(target)
    expect(row).to_be_visible()
    expect(row.locator(".fdetail")).to_be_visible()
    assert report.locator(":target").get_attribute("id") == target[1:]
    assert _count(report) == f"showing {COUNT:,} of {COUNT:,} findings"


def test_print_shows_the_printed_list_and_says_where_the_rest_is(report: Page) -> None:
    report.select_option("#fc-sev", "4")  # a filter on screen does not reach paper
    report.emulate_media(media="print")
    assert not report.is_visible(".controls")
    assert not report.is_visible("#frows")
    printed = report.locator("#fprint .finding")
    expect(printed).to_have_count(PRINT_LIMIT)
    assert printed.last.is_visible()
    assert printed.last.locator(".fdetail").is_visible()
    note = report.locator("#fprint p.cut")
    expect(note).to_contain_text(f"the riskiest {PRINT_LIMIT:,} of the {COUNT:,} findings")
    expect(note).to_contain_text("trustscan report RESULT.json --host")
    # No id twice: the printed copies leave theirs to the script's rows.
    ids = report.eval_on_selector_all("[id]", "es => es.map(e => e.id)")
    assert len(ids) == len(set(ids))
    report.emulate_media(media="screen")
    assert report.is_visible("#frows")
    assert not report.is_visible("#fprint")


def test_without_script_the_printed_list_is_the_page(browser: Browser, large: Large) -> None:
    opened = _open(browser, large.path, javascript=False)
    page = opened.page
    assert not page.is_visible(".controls")
    assert page.locator("#fprint .finding").count() == PRINT_LIMIT
    assert page.locator("#fprint .finding").first.locator(".fdetail").is_visible()
    assert page.is_visible("#fprint p.cut")
    assert opened.problems == []
    page.close()
