"""The browser the report's and the trends page's browser tests share: Debian's
Chromium, driven by Playwright, started once for the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.browser import CHROMIUM, QUIET


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (.ci/run installs it)")
    from playwright import sync_api as playwright

    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=list(QUIET), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
