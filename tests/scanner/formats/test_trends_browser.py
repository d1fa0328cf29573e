"""The trends page, and a report with its history panel, in a real browser:
Debian's Chromium driven by Playwright (never a downloaded browser), as in
`test_html_browser`. They must load nothing but themselves, log no console
error, draw one mark a run, fit a 400 px phone without scrolling sideways,
and print; screenshots and PDFs are kept in `artifacts/` (or
$TRUSTSCAN_ARTIFACTS) for CI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fixtures.browser import CHROMIUM
from scanner.formats import OutputFormat, formatter_for
from scanner.formats.trends_html import render_trends
from scanner.history.trends import trends
from scanner.model import ScanResult
from tests.scanner.history_factories import (
    HOSTILE_TITLE,
    many_results,
    open_store,
    record_all,
    sample_history,
)
from tests.support import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright.expect
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (.ci/run installs it)"
)

GENERATED = "2026-11-02T08:00:00+00:00"
PHONE, DESKTOP = 400, 1400
RUNS_CHART = "svg[aria-labelledby^='chart-runs-t'] [data-run]"


def _artifacts() -> Path:
    directory = Path(os.environ.get("TRUSTSCAN_ARTIFACTS", REPO / "artifacts"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@dataclass
class Opened:
    page: Page
    requests: list[str]
    problems: list[str]


@dataclass(frozen=True)
class Pages:
    trends: Path  # the sample history's four runs
    long: Path  # 45 runs: a chart too wide for a phone
    report: Path  # the last run's report, with its history panel
    runs: int
    last: ScanResult


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Pages:
    directory = tmp_path_factory.mktemp("trends")
    store, stored, found = sample_history(directory)
    long_store = open_store(directory / "long.sqlite")
    record_all(long_store, many_results(45), "long")
    long = trends(long_store, "long")
    store.close()
    long_store.close()
    paths = Pages(
        trends=directory / "trends.html",
        long=directory / "trends-long.html",
        report=directory / "report.html",
        runs=len(found.runs),
        last=stored[-1],
    )
    paths.trends.write_text(render_trends(found, GENERATED), encoding="utf-8")
    paths.long.write_text(render_trends(long, GENERATED), encoding="utf-8")
    paths.report.write_text(formatter_for(OutputFormat.HTML).format(stored[-1]), encoding="utf-8")
    return paths


def _open(browser: Browser, path: Path, width: int = DESKTOP) -> Opened:
    page = browser.new_page(viewport={"width": width, "height": 900})
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


def _scroll_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _keep(opened: Opened, name: str) -> None:
    """A full-page screenshot, for a person to look at."""
    opened.page.screenshot(path=str(_artifacts() / f"{name}.png"), full_page=True)


def test_the_trends_page_loads_nothing_and_logs_no_error(browser: Browser, pages: Pages) -> None:
    opened = _open(browser, pages.trends)
    page = opened.page
    assert opened.requests == [pages.trends.as_uri()]
    assert opened.problems == []
    assert "trustscan trends" in page.title()
    # The hostile title is shown as text, and ran nothing.
    assert HOSTILE_TITLE in page.inner_text("#last-run")
    assert page.eval_on_selector_all("img, script", "found => found.length") == 0
    out = _artifacts()
    page.screenshot(path=str(out / "trends.png"), full_page=True)
    page.pdf(path=str(out / "trends.pdf"), format="A4", print_background=False)
    assert (out / "trends.pdf").read_bytes().startswith(b"%PDF")
    assert opened.requests == [pages.trends.as_uri()]  # printing fetched nothing either
    page.close()


def test_the_chart_shows_one_mark_per_run(browser: Browser, pages: Pages) -> None:
    for path, runs in ((pages.trends, pages.runs), (pages.long, 45)):
        opened = _open(browser, path)
        page = opened.page
        marks = page.locator(RUNS_CHART)
        assert marks.count() == runs
        assert [marks.nth(i).get_attribute("data-run") for i in (0, runs - 1)] == ["1", str(runs)]
        # Every mark is drawn: each has a box on the page.
        sizes = page.eval_on_selector_all(
            RUNS_CHART, "gs => gs.map(g => g.getBoundingClientRect().height)"
        )
        assert all(h > 0 for h in sizes)
        assert page.locator("#runs tbody tr").count() == runs
        assert opened.problems == []
        page.close()


@pytest.mark.parametrize("which", ["trends", "long", "report"])
def test_a_phone_never_scrolls_sideways(browser: Browser, pages: Pages, which: str) -> None:
    opened = _open(browser, getattr(pages, which), width=PHONE)
    page = opened.page
    if which == "report":
        # The report's own tables (hosts) are wider than a phone; its panel is not.
        box = page.locator("#history").bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE
    else:
        assert _scroll_width(page) <= PHONE
        # Wide tables and a long chart scroll inside their own boxes.
        boxes = page.eval_on_selector_all(
            ".scroll", "els => els.map(e => e.getBoundingClientRect().right)"
        )
        assert boxes
        assert all(right <= PHONE for right in boxes)
    _keep(opened, f"trends-phone-{which}")
    assert opened.problems == []
    page.close()


def test_print_shows_every_run_without_a_scroll_box(browser: Browser, pages: Pages) -> None:
    opened = _open(browser, pages.long, width=700)
    page = opened.page
    page.emulate_media(media="print")
    assert page.eval_on_selector(".scroll", "e => getComputedStyle(e).overflowX") == "visible"
    assert _scroll_width(page) <= 700
    badge = page.eval_on_selector(".badge.sev-critical", "b => getComputedStyle(b).backgroundColor")
    assert badge in ("rgba(0, 0, 0, 0)", "transparent")  # no ink-heavy backgrounds
    page.pdf(path=str(_artifacts() / "trends-long.pdf"), format="A4")
    assert opened.problems == []
    page.close()


def test_the_report_with_a_history_panel_loads_clean(browser: Browser, pages: Pages) -> None:
    opened = _open(browser, pages.report)
    page = opened.page
    assert opened.requests == [pages.report.as_uri()]
    assert opened.problems == []
    panel = page.inner_text("#history")
    assert "Run 4 of scope shop-web" in panel
    dots = page.locator("svg[aria-labelledby^='chart-history-t'] circle[data-run]")
    assert dots.count() == 4
    seen = page.locator("#frows .finding .seen")
    assert seen.count() == len(pages.last.findings)
    assert "first seen 2026-09-01, 62 days" in seen.all_inner_texts()
    # The script still filters the findings with the marks in their headings.
    page.fill("#fc-q", "PHP")
    expect(page.locator("#fc-count")).to_have_text("showing 1 of 4 findings")
    out = _artifacts()
    page.screenshot(path=str(out / "report-history.png"), full_page=True)
    page.pdf(path=str(out / "report-history.pdf"), format="A4", print_background=False)
    assert opened.problems == []
    page.close()
