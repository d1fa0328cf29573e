"""The report's inline SVG charts: proportional, escaped, accessible, and safe when empty."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from scanner.formats.charts import TONES, Bar, bar_chart, clean, column_chart, number
from tests.scanner.formats.support import HOSTILE

SVG = "{http://www.w3.org/2000/svg}"


def _bars(svg: str, attribute: str) -> list[float]:
    """The coloured bars' sizes, in order (the grey track behind each bar is skipped)."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    return [
        float(rect.attrib[attribute])
        for rect in root.iter(f"{SVG}rect")
        if rect.attrib["fill"] != "#f3f4f6"
    ]


def test_column_heights_are_proportional_to_the_values() -> None:
    svg = column_chart(
        [Bar("critical", 2, "critical"), Bar("high", 8, "high"), Bar("low", 4, "low")],
        chart_id="c",
        title="Findings by severity",
    )
    heights = _bars(svg, "height")
    assert heights[1] == pytest.approx(120)  # the largest fills the plot
    assert heights[0] / heights[1] == pytest.approx(2 / 8)
    assert heights[2] / heights[1] == pytest.approx(4 / 8)


def test_bar_widths_are_proportional_to_a_fixed_scale() -> None:
    svg = bar_chart(
        [Bar("10.0.0.1", 50.0), Bar("10.0.0.2", 25.0), Bar("10.0.0.3", 100.0)],
        chart_id="h",
        title="Risk per host",
        scale_max=100.0,
    )
    widths = _bars(svg, "width")
    assert widths[2] == pytest.approx(320)
    assert widths[0] == pytest.approx(160)
    assert widths[1] == pytest.approx(80)


def test_zero_values_draw_empty_bars_without_dividing_by_zero() -> None:
    svg = column_chart([Bar("low", 0), Bar("info", 0)], chart_id="z", title="None")
    assert _bars(svg, "height") == [0.0, 0.0]


@pytest.mark.parametrize("chart", [column_chart, bar_chart])
def test_empty_data_gives_a_labelled_image_with_a_message(chart: object) -> None:
    svg = chart([], chart_id="e", title="Risk per host", empty="No host was scored.")  # type: ignore[operator]
    root = ET.fromstring(svg)  # noqa: S314
    assert root.attrib["role"] == "img"
    assert root.find(f"{SVG}title") is not None
    assert "No host was scored." in svg
    assert root.find(f"{SVG}rect") is None


def test_labels_titles_and_tones_from_targets_are_escaped() -> None:
    svg = bar_chart(
        [Bar(HOSTILE, 5.0, tone='"/><script>alert(1)</script>', note=HOSTILE)],
        chart_id="x",
        title=HOSTILE,
    )
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    assert 'fill="' + TONES["bar"] + '"' in svg  # an unknown tone falls back
    for char in "\x00\x01\x08\x0b\x1b\x7f\x9b":
        assert char not in svg
    ET.fromstring(svg)  # noqa: S314 - still well-formed


def test_the_numbers_are_in_the_text_too() -> None:
    svg = column_chart(
        [Bar("critical", 1234, "critical"), Bar("high", 0, "high")], chart_id="s", title="T"
    )
    root = ET.fromstring(svg)  # noqa: S314
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert desc.text == "critical: 1,234; high: 0."
    assert root.attrib["aria-labelledby"] == "s-t s-d"
    assert ">1,234</text>" in svg


def test_long_labels_are_shortened_in_the_drawing_only() -> None:
    label = "a-very-long-system-name-" * 4
    svg = bar_chart([Bar(label, 1.0)], chart_id="l", title="T")
    root = ET.fromstring(svg)  # noqa: S314
    drawn = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any(t.endswith("\u2026") and len(t) <= 34 for t in drawn)
    assert label in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


def test_number_formatting() -> None:
    assert number(1234567) == "1,234,567"
    assert number(12.345) == "12.3"
    assert number(40.0, 1) == "40.0"
    assert number(3.0) == "3"


def test_clean_shows_control_characters_instead_of_printing_them() -> None:
    assert clean("a\x1b[31mb\x00\x9b\u202ec\n\td") == "a\\x1b[31mb\\x00\\x9b\\u202ec\n\td"
    text = "plain"
    assert clean(text) is text
    assert re.search(r"[\x00-\x08\x7f-\x9f]", clean(HOSTILE)) is None
