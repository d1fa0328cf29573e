"""The trends page: self-contained, escaped, and saying what the Trends say."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scanner.formats.history_charts import COUNT_ORDER
from scanner.formats.trends_html import OLDEST_SHOWN, render_trends
from scanner.history.store import FindingRow, RunRow, Sighting
from scanner.history.trends import DEFAULT_DEADLINES, FixTime, OpenFinding, Trends, trends
from scanner.model import RunPoint, Severity
from scanner.support.resources import reports_dir
from tests.scanner.formats.support import HOSTILE, SCRIPT
from tests.scanner.history_factories import (
    HOSTILE_TITLE,
    SCOPE,
    TIMES,
    many_results,
    open_store,
    record_all,
    sample_history,
)

GENERATED = "2026-11-02T08:00:00+00:00"
SECTIONS = ["open", "deadlines", "oldest", "last-run", "runs"]
SVG = "{http://www.w3.org/2000/svg}"


class _Page(HTMLParser):
    """Start tags with their attributes, the inline style and script text,
    every element closed where it was opened, and the text of each row."""

    VOID = frozenset({"meta", "br", "input", "hr", "img", "link", "wbr", "col", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}  # by the id of the table's region
        self._region = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "table":
            self._region = found.get("aria-labelledby") or found.get("id") or ""
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-3:]} at {self.getpos()}")
        else:
            self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(self._region, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] in self.raw:
            self.raw[self.stack[-1]].append(data)
        if self._cell is not None:
            self._cell.append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _svg(html: str, chart_id: str) -> ET.Element:
    match = re.search(rf'<svg [^>]*aria-labelledby="{chart_id}-t.*?</svg>', html, re.S)
    assert match is not None, chart_id
    return ET.fromstring(match.group(0))  # noqa: S314 - our own output


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Trends:
    store, _stored, found = sample_history(tmp_path_factory.mktemp("history"))
    store.close()
    return found


@pytest.fixture(scope="module")
def html(recorded: Trends) -> str:
    return render_trends(recorded, GENERATED)


# -- a Trends object by hand, hostile wherever a string is ---------------------------------


def _row(**overrides: object) -> RunRow:
    fields: dict[str, object] = {
        "id": 7,
        "scope": HOSTILE,
        "command": "scan",
        "started": TIMES[2],
        "finished": TIMES[3],
        "targets": ("10.0.0.1",),
        "ports": "",
        "rule_set": "",
        "tool_version": "0.1.0",
        "exit_code": 0,
        "not_covered": (),
        "hosts": 1,
        "counts": (1, 1, 0, 0, 0),
        "previous": 6,
    }
    fields.update(overrides)
    return RunRow(**fields)  # type: ignore[arg-type]


def _open(i: int, **overrides: object) -> OpenFinding:
    fields: dict[str, object] = {
        "fingerprint": f"{i:024x}",
        "rule_id": f"rule-{i}",
        "host": "10.0.0.1",
        "port": 80,
        "severity": Severity.HIGH,
        "title": f"Finding {i}",
        "first_seen": TIMES[0],
        "age_days": 62.0 - i,
        "accepted": False,
        "deadline_days": 30,
    }
    fields.update(overrides)
    return OpenFinding(**fields)  # type: ignore[arg-type]


def _hostile_trends() -> Trends:
    finding = FindingRow("f" * 24, HOSTILE, HOSTILE, 443, "tcp", Severity.CRITICAL, "high",
                         HOSTILE, False, "new")  # fmt: skip
    gone = Sighting("e" * 24, "", "", TIMES[3], Severity.LOW, HOSTILE, HOSTILE, None, HOSTILE)
    return Trends(
        store=f"postgresql://{HOSTILE}@db/history",
        scope=HOSTILE,
        runs=(RunPoint(6, TIMES[2], (0, 1, 0, 0, 0)), RunPoint(7, HOSTILE, (1, 1, 0, 0, 0))),
        latest=_row(command=HOSTILE),
        open=(
            _open(1, host=HOSTILE, title=HOSTILE, rule_id=HOSTILE, severity=Severity.CRITICAL),
            _open(2, title=SCRIPT, first_seen=HOSTILE),
        ),
        fix_times=tuple(FixTime(s, 0, None) for s in COUNT_ORDER),
        deadlines=dict(DEFAULT_DEADLINES),
        new=(finding,),
        changed=(replace(finding, state="changed"),),
        fixed=(gone,),
    )


# -- structure and self-containment ------------------------------------------------------


def test_sections_are_all_there_in_order(html: str) -> None:
    assert re.findall(r'<section id="([\w-]+)"', html) == SECTIONS
    assert f"<title>trustscan trends: scope {SCOPE}</title>" in html
    assert "history.sqlite" in html.split("</header>")[0]  # the store, named at the top
    assert GENERATED in html


def test_csp_allows_only_the_inline_style_by_hash(html: str) -> None:
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    page = _page(html)
    css = "".join(page.raw["style"])
    assert csp.group(1) == (
        f"default-src 'none'; script-src 'none'; style-src {_sha256(css)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    assert "unsafe-inline" not in html
    # The report's own style sheet, byte for byte: one look for both pages.
    assert css == (reports_dir() / "report.css").read_text(encoding="utf-8")


def test_the_page_loads_nothing_and_is_well_formed(html: str) -> None:
    page = _page(html)
    names = [tag for tag, _ in page.tags]
    assert names.count("style") == 1
    for tag in ("script", "link", "img", "iframe", "object", "embed", "base", "form"):
        assert tag not in names
    ids = {attrs["id"] for _, attrs in page.tags if attrs.get("id")}
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        assert "style" not in attrs, tag  # the CSP would block it
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#"), href
            assert href[1:] in ids, href
    assert page.errors == []
    assert page.stack == []


def test_the_same_trends_render_the_same_bytes(recorded: Trends) -> None:
    assert render_trends(recorded, GENERATED) == render_trends(recorded, GENERATED)


# -- the numbers agree with the Trends ---------------------------------------------------


def test_the_chart_has_one_mark_per_run(recorded: Trends, html: str) -> None:
    svg = _svg(html, "chart-runs")
    marks = [g for g in svg.iter(f"{SVG}g") if "data-run" in g.attrib]
    assert [int(g.attrib["data-run"]) for g in marks] == [p.run for p in recorded.runs]
    assert [p.run for p in recorded.runs] == [1, 2, 3, 4]
    # Each column's stacked segments add up in proportion to the run's findings.
    heights = [sum(float(r.attrib["height"]) for r in g.iter(f"{SVG}rect")) for g in marks]
    totals = [sum(p.counts) for p in recorded.runs]
    assert totals == [4, 4, 5, 4]
    for height, count in zip(heights, totals, strict=True):
        assert height / heights[2] == pytest.approx(count / totals[2], rel=1e-3)
    desc = svg.find(f"{SVG}desc")
    assert desc is not None
    assert "run 3 (2026-10-06): 5 findings: 2 critical, 1 high, 1 medium, 1 info" in (
        desc.text or ""
    )


def test_the_runs_table_holds_the_charts_numbers(recorded: Trends, html: str) -> None:
    rows = _page(html).rows["runs-cap"]
    assert rows[0] == ["Run", "Finished", "critical", "high", "medium", "low", "info", "Total"]
    expected = [
        [str(p.run), p.finished[:10], *(str(c) for c in p.counts), str(sum(p.counts))]
        for p in reversed(recorded.runs)
    ]
    assert rows[1:] == expected


def test_open_counts_deadlines_and_fix_times_agree_with_the_trends(
    recorded: Trends, html: str
) -> None:
    page = _page(html)
    open_now = page.rows["open-counts"]
    assert open_now[1] == [str(recorded.open_counts()[s]) for s in COUNT_ORDER]
    assert open_now[1] == ["2", "0", "1", "0", "1"]
    overdue = recorded.overdue()
    fixes = {f.severity: f for f in recorded.fix_times}
    by_severity = {row[0]: row for row in page.rows["sev-cap"][1:]}
    for severity in COUNT_ORDER:
        row = by_severity[severity.value]
        deadline = recorded.deadlines.get(severity)
        fix = fixes[severity]
        assert row[1] == (f"{deadline} days" if deadline else "none")
        assert row[2] == str(recorded.open_counts()[severity])
        assert row[3] == str(overdue.get(severity, 0))
        assert row[5] == str(fix.fixed)
        assert row[6] == ("\u2013" if fix.median_days is None else f"{fix.median_days:.1f}")
    # The two criticals, open since the first run 62 days ago, are past their 7 days;
    # the accepted SSH banner is not counted.
    assert by_severity["critical"][3] == "2"
    assert by_severity["info"][4] == "1"
    assert by_severity["high"][5:] == ["1", "27.0"]
    assert "<strong>2</strong> open finding(s) are past their fix deadline" in html
    assert "Deadlines used: <strong>critical 7 days, high 30 days, medium 90 days</strong>" in html


def test_the_oldest_open_findings_are_listed_oldest_first(recorded: Trends, html: str) -> None:
    rows = _page(html).rows["oldest-cap"][1:]
    assert len(rows) == len(recorded.open) == 4
    assert [r[2] for r in rows] == [f.title for f in recorded.open]
    eol = rows[0]
    assert eol[:3] == ["critical", "127.0.0.10:80", "Apache httpd 2.2 or older is end of life"]
    assert eol[3:] == [
        "apache-httpd-eol",
        "2026-09-01",
        "62",
        "2026-09-08 within 7 days",
        "overdue by 55 days",
    ]
    ssh = next(r for r in rows if r[3] == "ssh-banner")
    assert ssh[6:] == ["none", "accepted risk"]
    php = next(r for r in rows if r[3] == "php-eol")
    assert php[4:] == ["2026-10-06", "27", "2027-01-04 within 90 days", "due in 63 days"]


def test_only_the_first_twenty_open_findings_are_listed(recorded: Trends) -> None:
    many = tuple(_open(i, age_days=100.0 - i) for i in range(OLDEST_SHOWN + 5))
    html = render_trends(replace(recorded, open=many), GENERATED)
    rows = _page(html).rows["oldest-cap"][1:]
    assert [r[2] for r in rows] == [f"Finding {i}" for i in range(OLDEST_SHOWN)]
    assert "20 of 25" in html
    assert "And 5 more open finding(s)" in html


def test_what_the_last_run_changed(recorded: Trends, html: str) -> None:
    last = html.split('<section id="last-run"')[1].split("</section>")[0]
    assert "compared with run 3" in last
    assert "<strong>0 new</strong>, 0 changed and <strong>1 fixed</strong>" in last
    fixed = last.split('id="lr-fixed"')[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Banner" in fixed
    assert [f.title for f in recorded.fixed] == [HOSTILE_TITLE]


def test_the_first_run_says_everything_is_new(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite")
    record_all(store, many_results(1), "one")
    html = render_trends(trends(store, "one"), GENERATED)
    store.close()
    assert "the first recorded run of this scope, so every finding in it is new" in html
    assert len(_svg(html, "chart-runs").findall(f".//{SVG}g[@data-run]")) == 1


def test_a_long_history_labels_the_latest_run_and_draws_every_run(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite")
    record_all(store, many_results(45), "long")
    found = trends(store, "long")
    store.close()
    html = render_trends(found, GENERATED)
    svg = _svg(html, "chart-runs")
    assert len(svg.findall(f".//{SVG}g[@data-run]")) == 45
    labels = [t.text for t in svg.iter(f"{SVG}text") if (t.text or "").startswith("#")]
    assert labels[-1] == "#45"
    assert 5 < len(labels) < 45  # every few runs: they would overlap
    assert 'class="scroll wide"' in html  # too wide to shrink onto a phone


def test_an_unknown_scope_says_no_run_is_recorded(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite")
    html = render_trends(trends(store, "nothing-yet"), GENERATED)
    store.close()
    assert "No run of scope <code>nothing-yet</code> is recorded" in html
    assert "<section" not in html
    assert _page(html).errors == []


# -- everything from a target or a user is escaped ---------------------------------------


def test_hostile_values_are_escaped_everywhere() -> None:
    html = render_trends(_hostile_trends(), GENERATED)
    page = _page(html)
    assert SCRIPT not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert [tag for tag, _ in page.tags].count("script") == 0
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
    for char in "\x00\x01\x08\x0b\x1b\x7f\x9b":
        assert char not in html, repr(char)
    assert "\\x1b[31m" in html  # control characters shown, not sent
    assert page.errors == []
    assert page.stack == []
    # In the heading, the oldest findings, the three lists and the chart's description.
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8
    assert len(_svg(html, "chart-runs").findall(f".//{SVG}g[@data-run]")) == 2


def test_the_sample_history_has_a_hostile_title_to_escape(html: str) -> None:
    assert HOSTILE_TITLE not in html
    assert SCRIPT not in html
