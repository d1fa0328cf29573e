"""The report's history panel and each finding's first sighting: there with a
history, escaped, and nothing at all without one."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from scanner.formats import OutputFormat, formatter_for
from scanner.formats.html_history import history_view
from scanner.model import FirstSeen, RunHistory, RunPoint, ScanResult
from tests.factories import make_result
from tests.scanner.formats.page_data import without_scripts
from tests.scanner.formats.support import HOSTILE, SCRIPT
from tests.scanner.history_factories import SCOPE, TIMES, sample_history, sample_results

SVG = "{http://www.w3.org/2000/svg}"


def _render(result: ScanResult) -> str:
    """The page as a reader without script sees it (the printed list): the
    script's own text and the findings' data are left out."""
    return without_scripts(formatter_for(OutputFormat.HTML).format(result))


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> list[ScanResult]:
    """The four runs of the sample history, as recorded (each with its history)."""
    store, results, _trends = sample_history(tmp_path_factory.mktemp("history"))
    store.close()
    return results


@pytest.fixture(scope="module")
def last(stored: list[ScanResult]) -> ScanResult:
    return stored[-1]


def _finding_block(html: str, title: str) -> str:
    for block in html.split('<article class="finding')[1:]:
        if f">{title}</button>" in block:
            return block.split("</article>")[0]
    raise AssertionError(f"no finding {title!r}")


def test_the_panel_names_the_run_the_scope_and_the_store(last: ScanResult) -> None:
    history = last.history
    assert history is not None
    html = _render(last)
    panel = html.split('<div class="history" id="history"')[1].split("</figure>")[0]
    # The store's path is the scanning machine's: shown by its name (it is under no
    # directory the reader shares).
    store = history.store.rsplit("/", 1)[-1]
    named = f"Run <strong>4</strong> of scope <code>{SCOPE}</code> in <code>{store}</code>"
    assert named in panel
    assert "From 4 findings in run 1 (2026-09-01) to 4 in run 4 (2026-11-02), over 4 runs." in panel
    earlier = (
        "4 of 4 finding(s) were seen by earlier runs; the oldest first seen 2026-09-01, 62 days"
    )
    assert earlier in panel
    assert '<li><a href="#history">History</a></li>' in html
    # Near the top: in the summary, before the charts.
    assert html.index('id="history"') < html.index('id="chart-sev-t"')


def test_the_sparkline_has_one_dot_per_run(last: ScanResult) -> None:
    html = _render(last)
    match = re.search(r'<svg [^>]*aria-labelledby="chart-history-t.*?</svg>', html, re.S)
    assert match is not None
    svg = ET.fromstring(match.group(0))  # noqa: S314 - our own output
    dots = svg.findall(f".//{SVG}circle[@data-run]")
    assert [int(d.attrib["data-run"]) for d in dots] == [1, 2, 3, 4]
    # Run 3 had the most findings (5): its dot is the highest (the smallest y).
    ys = [float(d.attrib["cy"]) for d in dots]
    assert min(ys) == ys[2]
    assert ys[0] == ys[1] == ys[3]
    desc = svg.find(f"{SVG}desc")
    assert desc is not None
    assert "run 4 (2026-11-02): 4 findings: 2 critical, 1 medium, 1 info" in (desc.text or "")


def test_each_finding_says_when_it_was_first_seen(last: ScanResult) -> None:
    html = _render(last)
    eol = _finding_block(html, "Apache httpd 2.2 or older is end of life")
    assert '<span class="seen">first seen 2026-09-01, 62 days</span></h3>' in eol
    assert "<dt>First seen</dt><dd>2026-09-01T02:00:00+00:00, 62 days before this run</dd>" in eol
    php = _finding_block(html, "PHP 7.4 is end of life")
    assert '<span class="seen">first seen 2026-10-06, 27 days</span>' in php
    assert html.count('<span class="seen">') == len(last.findings) == 4


def test_a_finding_new_to_the_history_says_so(stored: list[ScanResult]) -> None:
    third = stored[2]  # the hostile finding and the PHP one are new in run 3
    html = _render(third)
    php = _finding_block(html, "PHP 7.4 is end of life")
    assert '<span class="seen">first seen in this run</span>' in php
    assert "in this run: new to the history of this scope" in php


def test_the_first_run_has_no_earlier_sighting(stored: list[ScanResult]) -> None:
    html = _render(stored[0])
    assert "in run 1, the first of this scope." in html
    assert "No finding was seen by an earlier run." in html
    assert html.count("first seen in this run") == len(stored[0].findings)


def test_without_a_history_nothing_changes() -> None:
    result = make_result()
    assert result.history is None
    assert history_view(result) is None
    html = _render(result)
    assert 'id="history"' not in html
    assert "first seen" not in html.lower()
    assert 'class="seen"' not in html
    assert "chart-history" not in html


def test_recording_adds_the_panel_and_nothing_else(last: ScanResult) -> None:
    before = sample_results()[-1]  # as the scan made it, before it was recorded
    assert replace(last, history=None) == before
    assert _render(replace(last, history=None)) == _render(before)
    assert "first seen" not in _render(before).lower()


def test_an_unrecorded_run_says_so() -> None:
    result = replace(make_result(), history=RunHistory(store="/var/h.sqlite", scope="s", run=0))
    html = _render(result)
    assert "This run of scope <code>s</code> was not recorded in <code>h.sqlite</code>." in html
    assert "No run of this scope is recorded yet." in html


def test_hostile_history_values_are_escaped() -> None:
    result = make_result()
    finding = result.findings[0]
    history = RunHistory(
        store=HOSTILE,
        scope=HOSTILE,
        run=3,
        runs=(RunPoint(2, HOSTILE, (1, 0, 0, 0, 0)), RunPoint(3, TIMES[1], (1, 2, 0, 0, 0))),
        first_seen=(FirstSeen(finding.fingerprint, HOSTILE),),
    )
    html = _render(replace(result, history=history))
    assert SCRIPT not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
    for char in "\x00\x01\x08\x0b\x1b\x7f\x9b":
        assert char not in html, repr(char)


def test_first_seen_of_findings_no_longer_present_is_ignored() -> None:
    result = make_result()
    history = RunHistory(
        store="h",
        scope="s",
        run=1,
        runs=(RunPoint(1, result.finished, (1, 1, 1, 0, 1)),),
        first_seen=(FirstSeen("0" * 24, TIMES[0]),),
    )
    view = history_view(replace(result, history=history))
    assert view is not None
    assert dict(view.seen) == {}
    assert view.oldest is None
