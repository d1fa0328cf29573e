"""The HTML report in a real browser: Debian's Chromium, driven by Playwright
with the system browser (never a downloaded one). The report must load
nothing from outside, log no console error, filter, sort and expand its
findings, show everything without script and in print, and print to PDF; a
screenshot and the PDF are kept in `artifacts/` (or $TRUSTSCAN_ARTIFACTS) for CI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.browser import CHROMIUM
from scanner.formats import OutputFormat, formatter_for
from scanner.formats.html_findings import INLINE_LIMIT
from scanner.model import Confidence, ScanResult, Severity
from tests.factories import (
    make_assessment,
    make_finding,
    make_host,
    make_observation,
    make_result,
    make_service,
)
from tests.support import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright.expect
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (.ci/run installs it)"
)

# The script's rows: it builds only those shown (a block of them at a time).
ROWS = SHOWN = "#frows .finding"
PRINTED = "#fprint .finding"


def _artifacts() -> Path:
    directory = Path(os.environ.get("TRUSTSCAN_ARTIFACTS", REPO / "artifacts"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _report(result: ScanResult, directory: Path, name: str = "report.html") -> Path:
    path = directory / name
    path.write_text(formatter_for(OutputFormat.HTML).format(result), encoding="utf-8")
    return path


def _hostile() -> ScanResult:
    service = make_service(product=HOSTILE, extrainfo='" onmouseover="alert(3)')
    host = make_host(hostnames=(HOSTILE,), services=(service,))
    return make_result(hosts=(host,), findings=(make_finding(evidence=(HOSTILE,), title=HOSTILE),))


def _assessed() -> ScanResult:
    """make_result's four findings, scored, plus eight more over three hosts."""
    base = make_result()
    extra = tuple(
        make_finding(
            rule_id=("tls-weak", "redis-open", "ssh-banner")[i % 3],
            host=f"127.0.0.{12 + i % 2}",
            port=(443, 6379, 22)[i % 3] + i,
            severity=(Severity.LOW, Severity.HIGH, Severity.MEDIUM, Severity.CRITICAL)[i % 4],
            confidence=Confidence.CONFIRMED,
            category=("tls", "exposure", "configuration")[i % 3],
            title=f"Extra finding number {i} zebra" if i == 5 else f"Extra finding number {i}",
        )
        for i in range(8)
    )
    observations = (
        make_observation(
            port=None,
            probe="firewall",
            key="firewall.posture",
            value="unfiltered",
            evidence="nmap scan of 1000 TCP ports: 2 open; 998 closed (reset)",
        ),
    )
    return replace(
        base,
        findings=base.findings + extra,
        observations=base.observations + observations,
        assessment=make_assessment(),
        rule_set="412 rules in 31 files, sha256 1a2b3c4d5e6f",
    )


@dataclass
class Opened:
    page: Page
    requests: list[str]
    problems: list[str]


@pytest.fixture(scope="module")
def assessed_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _report(_assessed(), tmp_path_factory.mktemp("assessed"))


def _open(browser: Browser, path: Path, javascript: bool = True) -> Opened:
    page = browser.new_page(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    opened = Opened(page, [], [])
    page.on("request", lambda request: opened.requests.append(request.url))
    page.on(
        "console",
        lambda message: opened.problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: opened.problems.append(str(error)))
    page.on("dialog", lambda dialog: opened.problems.append(f"dialog: {dialog.message}"))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return opened


@pytest.fixture
def report(browser: Browser, assessed_report: Path) -> Iterator[Opened]:
    opened = _open(browser, assessed_report)
    yield opened
    assert opened.problems == []
    assert opened.requests == [assessed_report.as_uri()]
    opened.page.close()


def _shown(page: Page, attribute: str = "id") -> list[str]:
    """An attribute of each finding row shown, in page order."""
    values = page.eval_on_selector_all(
        SHOWN, f"rows => rows.map(r => r.getAttribute('{attribute}'))"
    )
    return [str(v) for v in values]


def _count_text(page: Page) -> str:
    return page.inner_text("#fc-count")


# -- loading, printing, hostile values ----------------------------------------------------


def test_report_loads_nothing_and_logs_no_error(browser: Browser, assessed_report: Path) -> None:
    opened = _open(browser, assessed_report)
    page = opened.page
    assert opened.requests == [assessed_report.as_uri()]
    assert opened.problems == []
    assert "trustscan risk report" in page.title()
    out = _artifacts()
    page.screenshot(path=str(out / "report.png"), full_page=True)
    page.pdf(path=str(out / "report.pdf"), format="A4", print_background=False)
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "report.png").stat().st_size > 10_000
    assert opened.requests == [assessed_report.as_uri()]  # printing fetched nothing either
    page.close()


def test_hostile_values_stay_inert_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    opened = _open(browser, _report(_hostile(), tmp_path))
    # No script ran (no dialog, no error) and the broken <img> loaded nothing.
    assert opened.problems == []
    assert len(opened.requests) == 1
    text = opened.page.inner_text("body")
    assert "<script>alert(1)</script>" in text  # shown as text, not run
    assert opened.page.eval_on_selector_all("img", "imgs => imgs.length") == 0
    opened.page.close()


def test_without_script_everything_is_shown_and_no_control(
    browser: Browser, assessed_report: Path
) -> None:
    opened = _open(browser, assessed_report, javascript=False)
    page = opened.page
    assert not page.is_visible(".controls")
    details = page.query_selector_all(".fdetail")
    assert len(details) == 12
    assert all(d.is_visible() for d in details)
    assert page.is_visible("#trust-notices")
    page.close()


def test_print_shows_every_detail_and_hides_the_controls(report: Opened) -> None:
    page = report.page
    page.select_option("#fc-sev", "4")  # filtered on screen ...
    page.emulate_media(media="print")
    assert not page.is_visible(".controls")
    assert not page.is_visible("#frows")
    expect(page.locator(PRINTED)).to_have_count(12)  # ... not in print: the printed list
    assert all(r.is_visible() for r in page.query_selector_all(PRINTED))
    assert len([d for d in page.query_selector_all(".fdetail") if d.is_visible()]) == 12
    badge = page.eval_on_selector(".badge.sev-critical", "b => getComputedStyle(b).backgroundColor")
    assert badge in ("rgba(0, 0, 0, 0)", "transparent")  # no ink-heavy backgrounds
    page.emulate_media(media="screen")
    # Back on screen, the script's list again, as it was left.
    assert not page.is_visible("#fprint")
    assert _count_text(page) == "showing 3 of 12 findings"


# -- filtering -----------------------------------------------------------------------------


def test_controls_appear_and_details_start_collapsed(report: Opened) -> None:
    page = report.page
    assert page.is_visible(".controls")
    assert _count_text(page) == "showing 12 of 12 findings"
    assert not any(d.is_visible() for d in page.query_selector_all(".fdetail"))


def test_filter_by_severity(report: Opened) -> None:
    page = report.page
    page.select_option("#fc-sev", "4")
    assert set(_shown(page, "data-sev")) == {"4"}
    assert len(_shown(page)) == 3
    assert _count_text(page) == "showing 3 of 12 findings"
    page.select_option("#fc-sev", "ge3")
    assert len(_shown(page)) == 6
    assert _count_text(page) == "showing 6 of 12 findings"


def test_filter_by_host(report: Opened) -> None:
    page = report.page
    page.select_option("#fc-host", "127.0.0.11")
    assert set(_shown(page, "data-host")) == {"127.0.0.11"}
    assert _count_text(page) == "showing 2 of 12 findings"


def test_filter_by_rule_and_category_together(report: Opened) -> None:
    page = report.page
    page.select_option("#fc-rule", "redis-open")
    assert _count_text(page) == "showing 3 of 12 findings"
    page.select_option("#fc-cat", "exposure")
    assert set(_shown(page, "data-rule")) == {"redis-open"}
    assert _count_text(page) == "showing 3 of 12 findings"
    page.select_option("#fc-cat", "tls")
    assert _shown(page) == []
    assert _count_text(page) == "showing 0 of 12 findings"
    page.click("#fc-reset")
    assert _count_text(page) == "showing 12 of 12 findings"


def test_text_search(report: Opened) -> None:
    page = report.page
    page.fill("#fc-q", "ZEBRA")
    expect(page.locator("#fc-count")).to_have_text(re.compile(r"^showing 1 of"))
    assert len(_shown(page)) == 1
    assert "zebra" in page.inner_text(SHOWN)
    page.fill("#fc-q", "centos package")  # a note, inside the (collapsed) details
    expect(page.locator(SHOWN)).to_contain_text("end of life")
    assert _count_text(page) == "showing 1 of 12 findings"


# -- sorting and expanding ---------------------------------------------------------------


def _numbers(page: Page, attribute: str) -> list[float]:
    return [float(v) for v in _shown(page, attribute)]


def test_sort_by_risk_severity_and_host(report: Opened) -> None:
    page = report.page
    risks = _numbers(page, "data-risk")
    assert risks == sorted(risks, reverse=True)  # the default order
    page.select_option("#fc-sort", "sev")
    severities = _numbers(page, "data-sev")
    assert severities == sorted(severities, reverse=True)
    assert severities[0] == 4
    page.select_option("#fc-sort", "host")
    hosts = _numbers(page, "data-ho")
    assert hosts == sorted(hosts)
    assert _shown(page, "data-host")[0] == "127.0.0.10"
    page.select_option("#fc-sort", "risk")
    assert _numbers(page, "data-risk") == risks


def test_column_headers_sort_both_ways(report: Opened) -> None:
    page = report.page
    page.click('.fhead [data-sort="host"]')
    assert _numbers(page, "data-ho") == sorted(_numbers(page, "data-ho"))
    assert page.get_attribute(".fhead .c-where", "aria-sort") == "ascending"
    page.click('.fhead [data-sort="host"]')
    assert _numbers(page, "data-ho") == sorted(_numbers(page, "data-ho"), reverse=True)
    assert page.get_attribute(".fhead .c-where", "aria-sort") == "descending"
    page.click('.fhead [data-sort="title"]')
    titles = page.eval_on_selector_all(SHOWN + " .tg", "bs => bs.map(b => b.textContent)")
    assert titles == sorted(titles, key=str.casefold)


def test_sorting_keeps_the_filter(report: Opened) -> None:
    page = report.page
    page.select_option("#fc-sev", "2")
    page.select_option("#fc-sort", "host")
    assert set(_shown(page, "data-sev")) == {"2"}
    assert _count_text(page) == "showing 3 of 12 findings"


def test_details_expand_and_collapse_on_click(report: Opened) -> None:
    page = report.page
    first = page.locator(ROWS).first
    detail, toggle = first.locator(".fdetail"), first.locator(".tg")
    assert not detail.is_visible()  # made when first opened
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert detail.is_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert toggle.get_attribute("aria-controls") == detail.get_attribute("id")
    assert "Evidence" in detail.inner_text()
    first.locator(".c-where").click()  # the whole row toggles
    assert not detail.is_visible()
    toggle.focus()
    page.keyboard.press("Enter")
    assert detail.is_visible()
    page.click("#fc-close")
    expect(detail).to_be_hidden()


def test_a_link_to_a_filtered_out_finding_shows_and_opens_it(report: Opened) -> None:
    page = report.page
    page.select_option("#fc-sev", "0")  # info only: the plan's findings are hidden
    assert _count_text(page) == "showing 1 of 12 findings"
    page.click("#p-1 a[href^='#f-']")
    target = page.locator(":target")
    assert target.get_attribute("class") == "finding sev-critical open"
    assert target.locator(".fdetail").is_visible()
    assert _count_text(page) == "showing 12 of 12 findings"


def test_a_large_report_opens_a_finding_with_its_rule_text(
    browser: Browser, tmp_path: Path
) -> None:
    findings = tuple(
        make_finding(host=f"10.0.{i // 250}.{i % 250 + 1}") for i in range(INLINE_LIMIT + 1)
    )
    opened = _open(browser, _report(make_result(findings=findings), tmp_path))
    page = opened.page
    row = page.locator(ROWS).first
    row.locator(".tg").click()
    detail = row.locator(".fdetail")
    assert "The server runs an Apache httpd 2.4 release" in detail.inner_text()
    assert row.locator("a.ref").count() == 0  # the text itself, not the printed list's link
    page.fill("#fc-q", "misses fixes")  # a search reaches the shared texts too
    expect(page.locator("#fc-count")).to_have_text(re.compile(r"^showing 301 of"))
    assert opened.problems == []
    page.close()


def test_filter_by_the_state_against_the_baseline(browser: Browser, tmp_path: Path) -> None:
    from tests.scanner.formats.support import compared_result

    result = replace(compared_result(), assessment=make_assessment())
    opened = _open(browser, _report(result, tmp_path))
    page = opened.page
    assert _count_text(page) == "showing 4 of 4 findings"
    page.select_option("#fc-bl", "new")
    assert _shown(page, "data-bl") == ["new"]
    assert "MariaDB" in page.inner_text(SHOWN)
    page.select_option("#fc-bl", "unchanged")
    assert _shown(page, "data-bl") == ["unchanged", "unchanged"]
    page.select_option("#fc-sev", "0")  # and info: the SSH banner alone
    assert _count_text(page) == "showing 1 of 4 findings"
    page.click("#fc-reset")
    assert page.input_value("#fc-bl") == ""
    assert _count_text(page) == "showing 4 of 4 findings"
    # The section's links land on the findings, shown and opened.
    page.click("#bl-new + p + ul a")
    assert page.locator(":target .fdetail").is_visible()
    assert opened.problems == []
    page.close()
