"""The HTML report against a baseline (the "Since the baseline" section, a
state badge per finding, its filter) and with accepted risks (each finding's
acceptance, the file's expired and stale entries)."""

from __future__ import annotations

import re
from dataclasses import replace

from markupsafe import escape

from scanner.assessment.baseline import Baseline, compared
from scanner.formats import OutputFormat, formatter_for
from scanner.formats.html_baseline import MAX_LISTED, baseline_view
from scanner.formats.html_findings import FindingRef
from scanner.model import BaselineState, ScanResult
from tests.factories import make_assessment, make_finding, make_result
from tests.scanner.formats.support import (
    BASELINE_SOURCE,
    BASELINE_TAKEN,
    HOSTILE,
    SCRIPT,
    compared_result,
    hostile_result,
)
from tests.scanner.formats.test_html import SECTIONS, _Balance, _elements, _section


def _render(result: ScanResult) -> str:
    return formatter_for(OutputFormat.HTML).format(result)


def _assessed() -> ScanResult:
    return replace(compared_result(), assessment=make_assessment())


def _article(html: str, fingerprint: str) -> str:
    start = html.index(f'id="f-{fingerprint}"')
    return html[start : html.index("</article>", start)]


def test_the_section_comes_after_the_summary_and_the_numbers_follow() -> None:
    html = _render(_assessed())
    assert re.findall(r'<section id="([\w-]+)"', html) == [SECTIONS[0], "baseline", *SECTIONS[1:]]
    headings = re.findall(r'<h2 id="[\w-]+-h">(\d+)\. ', html)
    assert headings == [str(n) for n in range(1, len(SECTIONS) + 2)]
    assert '<li><a href="#baseline">Since the baseline</a></li>' in html
    plain = _render(make_result())
    assert 'id="baseline"' not in plain
    assert re.findall(r'<h2 id="[\w-]+-h">(\d+)\. ', plain) == [
        str(n) for n in range(1, len(SECTIONS) + 1)
    ]


def test_the_section_counts_and_lists_each_state() -> None:
    result = _assessed()
    section = _section(_render(result), "baseline")
    assert str(escape(BASELINE_SOURCE)) in section
    assert BASELINE_TAKEN in section
    counts = "<strong>1 new</strong>, 1 changed and <strong>1 fixed</strong> since 2026-11-18"
    assert counts in section
    assert "2 unchanged; 1 not rescanned, not counted as fixed" in section
    lists = dict(
        re.findall(r'<h3 id="bl-([\w-]+)">.*?</h3>\s*<p class="muted">.*?</p>\s*(.*?)\n', section)
    )
    by_rule = {f.rule_id: f for f in result.findings}
    new = by_rule["mariadb-exposed"]
    assert f'href="#f-{new.fingerprint}"' in lists["new"]
    assert "MariaDB accepts connections from the network" in lists["new"]
    changed = by_rule["apache-httpd-eol"]
    assert f'href="#f-{changed.fingerprint}"' in lists["changed"]
    assert "severity medium \u2192 high" in lists["changed"]
    # Gone findings are only in the baseline: listed, not linked.
    assert "HTTP TRACE is enabled" in lists["fixed"]
    assert "href" not in lists["fixed"]
    assert "Redis answers without a password" in lists["not-rescanned"]
    assert "127.0.0.12:6379/tcp" in lists["not-rescanned"]
    assert "Redis" not in lists["fixed"]


def test_each_finding_shows_its_state_as_a_badge_and_can_be_filtered_by_it() -> None:
    result = _assessed()
    html = _render(result)
    for finding in result.findings:
        assert finding.baseline is not None
        article = _article(html, finding.fingerprint)
        state = finding.baseline.value
        assert f'data-bl="{state}"' in article
        assert f'<span class="bl bl-{state}">{state}</span>' in article
    controls = html[html.index('<div class="controls"') : html.index('<div class="flist">')]
    states = controls.split('id="fc-bl"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w*)">([\w ()]+)</option>', states) == [
        ("", "any"),
        ("new", "new (1)"),
        ("changed", "changed (1)"),
        ("unchanged", "unchanged (2)"),
    ]
    # Not compared: no badge, no attribute, no filter.
    plain = _render(make_result())
    assert "data-bl" not in plain
    assert 'class="bl ' not in plain
    assert 'id="fc-bl"' not in plain


def test_accepted_findings_say_by_whom_until_when_and_why() -> None:
    result = _assessed()
    html = _render(result)
    by_rule = {f.rule_id: f for f in result.findings}
    ssh = _article(html, by_rule["ssh-banner"].fingerprint)
    assert '<span class="acc">accepted</span>' in ssh
    assert (
        "accepted by ops@example.test until 2027-03-31: the banner is needed by the monitoring"
        in ssh
    )
    old = _article(html, by_rule["apache-httpd-outdated"].fingerprint)
    assert '<span class="acc acc-expired">acceptance expired</span>' in old
    assert "acceptance expired on 2026-11-01: upgrade planned in October" in old
    assert 'class="acc' not in _article(html, by_rule["mariadb-exposed"].fingerprint)
    assert "Accepted risk" not in _article(html, by_rule["mariadb-exposed"].fingerprint)


def test_the_findings_section_lists_expired_and_stale_entries() -> None:
    findings = _section(_render(_assessed()), "findings")
    check = findings[findings.index('<div class="accepted-check">') : findings.index("</div>")]
    assert "<code>accept.yaml</code>, judged on 2026-11-25: 1 finding(s) accepted" in check
    assert "1 whose acceptance expired and count again" in check
    expired, stale = check.split("Stale entries")
    assert "accept.yaml:9 rule apache-httpd-outdated (expired 2026-11-01)" in expired
    assert re.findall(r"<li><code>(.*?)</code></li>", stale) == [
        "accept.yaml:14 rule php-eol host 127.0.0.20",
        "accept.yaml:19 fingerprint 0123456789abcdef01234567",
    ]
    assert '<div class="accepted-check">' not in _render(make_result())


def test_the_page_stays_whole_with_every_link_landing() -> None:
    html = _render(_assessed())
    checker = _Balance()
    checker.feed(html)
    assert checker.errors == []
    assert checker.stack == []
    found = _elements(html)
    ids = {attrs["id"] for _, attrs in found.tags if attrs.get("id")}
    for _, attrs in found.tags:
        href = attrs.get("href") or ""
        if href.startswith("#"):
            assert href[1:] in ids, href


def test_hostile_baseline_and_acceptance_text_is_escaped() -> None:
    hostile = hostile_result()
    earlier = replace(hostile, findings=(make_finding(rule_id="gone", title=HOSTILE),))
    compared_hostile = compared(
        replace(hostile, findings=tuple(replace(f, accepted=None) for f in hostile.findings)),
        Baseline(HOSTILE, replace(earlier, finished=HOSTILE)),
    )
    html = _render(compared_hostile)
    assert SCRIPT not in html
    section = _section(html, "baseline")
    assert str(escape("<script>alert(1)</script>")) in section


def test_long_lists_are_cut_and_counted() -> None:
    many = tuple(make_finding(port=1000 + n) for n in range(MAX_LISTED + 7))
    result = compared(make_result(findings=many), Baseline("b.json", make_result(findings=())))
    refs = {f.fingerprint: FindingRef(f"f-{f.fingerprint}", f.title, "") for f in many[:10]}
    view = baseline_view(result, refs)
    assert view is not None
    assert len(view.new.items) == MAX_LISTED
    assert view.new.more == 7
    # Linked only when the page shows the finding (a large scan's page shows a part).
    assert sum(bool(i.anchor) for i in view.new.items) == 10
    assert all(i.detail == "" for i in view.new.items)
    assert baseline_view(make_result(), refs) is None
    assert {f.baseline for f in result.findings} == {BaselineState.NEW}
