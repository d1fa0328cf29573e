"""The HTML report in a real browser: Debian's Chromium, driven by Playwright
with the system browser (never a downloaded one). The report must load
nothing from outside, log no console error, and print to PDF; a screenshot
and the PDF are kept in `artifacts/` (or $TRUSTSCAN_ARTIFACTS) for CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scanner.formats import OutputFormat, formatter_for
from scanner.model import ScanResult
from tests.factories import make_finding, make_host, make_result, make_service
from tests.support import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium reaches out to Google's services at start unless told not to; this
# machine's network is closed, and a report test must not depend on it.
QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (.ci/run installs it)"
)


def _artifacts() -> Path:
    directory = Path(os.environ.get("TRUSTSCAN_ARTIFACTS", REPO / "artifacts"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _report(result: ScanResult, directory: Path) -> Path:
    path = directory / "report.html"
    path.write_text(formatter_for(OutputFormat.HTML).format(result), encoding="utf-8")
    return path


def _hostile() -> ScanResult:
    service = make_service(product=HOSTILE, extrainfo='" onmouseover="alert(3)')
    host = make_host(hostnames=(HOSTILE,), services=(service,))
    return make_result(hosts=(host,), findings=(make_finding(evidence=(HOSTILE,), title=HOSTILE),))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=QUIET, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser: Browser, path: Path) -> tuple[Page, list[str], list[str]]:
    page = browser.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, problems


def test_report_loads_nothing_and_logs_no_error(browser: Browser, tmp_path: Path) -> None:
    path = _report(make_result(), tmp_path)
    page, requests, problems = _open(browser, path)
    assert requests == [path.as_uri()]
    assert problems == []
    assert "trustscan risk report" in page.title()
    out = _artifacts()
    page.screenshot(path=str(out / "report.png"), full_page=True)
    page.pdf(path=str(out / "report.pdf"))
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "report.png").stat().st_size > 10_000


def test_hostile_values_stay_inert_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    page, requests, problems = _open(browser, _report(_hostile(), tmp_path))
    # No script ran (no dialog, no error) and the broken <img> loaded nothing.
    assert problems == []
    assert len(requests) == 1
    text = page.inner_text("body")
    assert "<script>alert(1)</script>" in text  # shown as text, not run
