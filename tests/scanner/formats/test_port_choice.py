"""Which ports were scanned, as each report says it: the HTML appendix, one
Markdown line, and the JSON result (a field of the model, written as it is)."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from scanner.formats import OutputFormat, formatter_for
from scanner.model import ScanResult
from tests.factories import make_result
from tests.scanner.formats.support import HOSTILE

CHOICE = (
    "nmap's 1,000 most common TCP ports, 52 data-store and administration ports "
    "from rules/ports.yaml (45 of them beyond nmap's list): 1,045 TCP ports"
)


def _render(fmt: OutputFormat, result: ScanResult) -> str:
    return formatter_for(fmt).format(result)


def _appendix(html: str) -> str:
    start = html.index('<section id="appendix"')
    return html[start : html.index("</section>", start)]


def test_the_html_appendix_says_which_ports_were_scanned() -> None:
    html = _render(OutputFormat.HTML, replace(make_result(), port_choice=CHOICE))
    appendix = _appendix(html)
    match = re.search(r"<dt>Ports</dt><dd>(.*?)</dd>", appendix)
    assert match is not None
    assert match.group(1) == CHOICE.replace("'", "&#39;")
    assert html.count("<dt>Ports</dt>") == 1


def test_no_ports_line_when_the_result_does_not_say() -> None:
    # An imported nmap XML or a result from before the field: nothing to show.
    assert "<dt>Ports</dt>" not in _render(OutputFormat.HTML, make_result())
    assert "Ports scanned" not in _render(OutputFormat.MARKDOWN, make_result())


def test_the_markdown_summary_has_one_ports_line() -> None:
    text = _render(OutputFormat.MARKDOWN, replace(make_result(), port_choice="-p 1-1024 (given)"))
    lines = [line for line in text.splitlines() if "Ports scanned" in line]
    assert lines == ["Ports scanned: -p 1-1024 (given)."]


@pytest.mark.parametrize("fmt", [OutputFormat.HTML, OutputFormat.MARKDOWN])
def test_a_hostile_given_port_list_is_inert(fmt: OutputFormat) -> None:
    # -p is the user's text, passed to nmap as written.
    text = _render(fmt, replace(make_result(), port_choice=f"-p {HOSTILE} (given)"))
    assert "\x00" not in text
    if fmt is OutputFormat.HTML:
        appendix = _appendix(text)  # the page's own scripts are elsewhere
        assert "<script" not in appendix
        assert "&lt;script&gt;" in appendix
    else:
        (line,) = [line for line in text.splitlines() if "Ports scanned" in line]
        assert "<script" not in line
        assert "&lt;script&gt;" in line


def test_the_json_result_carries_the_choice() -> None:
    data = json.loads(_render(OutputFormat.JSON, replace(make_result(), port_choice=CHOICE)))
    assert data["port_choice"] == CHOICE
