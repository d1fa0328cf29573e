"""The HTML risk report: one self-contained file rendered with Jinja2.

Autoescaping is on for everything, since most strings in a ScanResult came
from a target, and every printed value loses its control characters (see
`charts.clean`). The page loads nothing from outside: its
Content-Security-Policy allows only the one inline style sheet and the one
inline script, by the SHA-256 of their exact bytes. The script only adds
filtering and sorting; without it (and in print) everything is shown.

The view data comes from small modules, the template only lays it out:
`html_summary` (executive summary, customer trust), `html_findings`,
`html_hosts` (hosts, firewall posture, data stores), `html_baseline` (since
the baseline, accepted risks), `html_history` (the scan history's panel and
each finding's first sighting), `html_coverage` (what was checked and what
was not) and `html_text` (the formatting helpers, also Jinja filters). This
module holds the Jinja environment, the inline assets and their CSP, and puts
the views together.

Two rules hold across the views: paths of the scanning machine are shown
relative, from `~` or as a file name (`assessment.shown_paths`), and a
store's or host's customer records are its one count
(`assessment.records.records_of`) wherever they appear.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

import jinja2
from markupsafe import Markup

from scanner.assessment.records import records_of, result_counts
from scanner.assessment.risk import RISK_LEVELS
from scanner.assessment.shown_paths import for_report
from scanner.assessment.trust import PSN_2011
from scanner.formats.charts import clean
from scanner.formats.html_baseline import acceptance_view, baseline_view
from scanner.formats.html_coverage import coverage_view
from scanner.formats.html_data import embedded
from scanner.formats.html_findings import (
    BIG,
    PRINT_LIMIT,
    FindingList,
    FindingRefs,
    finding_filters,
    grouped_refs,
    shared_blocks,
)
from scanner.formats.html_history import history_view
from scanner.formats.html_hosts import (
    POSTURE_KEYS,
    StoreView,
    firewall_rows,
    host_anchors,
    host_views,
    store_views,
)
from scanner.formats.html_page import on_the_page
from scanner.formats.html_summary import (
    host_chart,
    overall,
    risk_model,
    severity_chart,
    top_risks,
    trust_view,
)
from scanner.formats.html_text import duration, link, money_about, num, placeholders, score_text
from scanner.model import ScanResult, Severity
from scanner.support.progress import QUIET, Progress
from scanner.support.resources import reports_dir

# -- the environment and the inline assets --------------------------------------


def _finalize(value: object) -> object:
    """Every printed value without control characters (escaping comes after)."""
    if isinstance(value, str):
        cleaned = clean(value)
        if cleaned is value:
            return value
        # Replacing control characters cannot create markup: safe for Markup too.
        return Markup(cleaned) if isinstance(value, Markup) else cleaned  # noqa: S704
    return value


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja environment of the HTML pages (the report, the trends page)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(num=num, score=score_text, placeholders=placeholders)
    env.globals.update(link=link, money_about=money_about)
    return env


@dataclass(frozen=True)
class Asset:
    """An inline style sheet or script and its CSP source expression."""

    text: Markup
    source: str


def _asset(name: str, closing: str) -> Asset:
    text = (reports_dir() / name).read_text(encoding="utf-8")
    # The file is ours, not data; it must not be able to end its own element.
    if closing in text.lower():
        raise ValueError(f"{name} contains {closing}")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Asset(Markup(text), f"'sha256-{digest}'")  # noqa: S704 - our own asset


@lru_cache(maxsize=1)
def assets() -> tuple[Asset, Asset]:
    """The report's style sheet and script, which every HTML page shares."""
    return _asset("report.css", "</style"), _asset("report.js", "</script")


def csp(style: Asset, script: Asset | None) -> Markup:
    """The policy: only these inline elements, by hash (no script at all for a
    page without one). Markup so that its quotes print as quotes (it holds
    only our keywords and base64)."""
    scripts = script.source if script is not None else "'none'"
    return Markup(  # noqa: S704 - no data in it
        f"default-src 'none'; script-src {scripts}; style-src {style.source}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


# -- the formatter -----------------------------------------------------------------------


def _stores(result: ScanResult, visible: ScanResult) -> list[StoreView]:
    """The data stores, each with its one record count (the inventory's for
    its host when it gives one, else the store's statistics for what holds
    personal data), the number the customer-trust section shows too."""
    counts = result_counts(result)
    views = []
    for view in store_views(visible):
        counted = records_of(counts, view.host, view.port)
        views.append(replace(view, records=counted.records if counted else None))
    return views


# The findings a plan step names; the rest it counts.
PLAN_REFS = 8

# Plan steps and hosts a group: what a large report lays out (or skips) at once.
PLAN_GROUP = 50
HOST_GROUP = 20


class HtmlFormatter:
    def __init__(self, progress: Progress = QUIET, what: str = "writing the report") -> None:
        self._progress = progress
        self._what = what

    def format(self, result: ScanResult) -> str:
        return "".join(self.chunks(result))

    def chunks(self, result: ScanResult) -> Iterator[str]:
        """The page, piece by piece: the embedded findings are compressed and
        written as they are made, never one string."""
        template = environment().get_template("report.html.j2")
        style, script = assets()
        result = for_report(result)
        # The sections lay out what fits on a page; the findings' data, the
        # counts and the charts cover the whole scan.
        findings = FindingList(result)
        visible, cut = on_the_page(result, findings.ordered)
        printed = list(findings.views(PRINT_LIMIT))
        texts, vuln_lists = shared_blocks(printed)
        refs = FindingRefs(result.findings)
        anchors = host_anchors(visible)
        counts = result.severity_counts()
        assessment = visible.assessment
        history = history_view(result)
        encoding, data = embedded(
            findings,
            history.seen if history else {},
            lambda done: self._progress.step(self._what, done, len(findings), "findings"),
        )
        return template.generate(
            result=result,
            PLAN_GROUP=PLAN_GROUP,
            HOST_GROUP=HOST_GROUP,
            css=style.text,
            js=script.text,
            csp=csp(style, script),
            duration=duration(result.started, result.finished),
            severities=list(reversed(Severity)),
            counts=counts,
            worst=next((s for s in reversed(Severity) if counts[s]), None),
            finding_hosts=len({f.host for f in result.findings}),
            cut=cut,
            errors=visible.probe_errors,
            overall=overall(result),
            levels=[(floor, level) for floor, level in RISK_LEVELS],
            top_risks=top_risks(result, refs),
            severity_chart=severity_chart(result),
            host_chart=host_chart(result.assessment),
            trust=trust_view(assessment, refs),
            psn=PSN_2011,
            model=risk_model(),
            plan=[
                # A step that fixes dozens of findings names each title once, the first few.
                (step, grouped_refs(step.fingerprints, refs, PLAN_REFS))
                for step in (assessment.plan if assessment else ())
            ],
            assessment=assessment,
            total_findings=len(findings),
            findings=printed,
            data_encoding=encoding,
            data=data,
            big=len(findings) > BIG or len(result.hosts) > BIG // 4,
            shared=bool(texts),
            texts=texts,
            vuln_lists=vuln_lists,
            filters=finding_filters(result),
            baseline=baseline_view(result, refs),
            history=history,
            acceptance=acceptance_view(result, result.findings),
            hosts=host_views(visible, anchors),
            host_anchors=anchors,
            firewall=firewall_rows(visible, anchors),
            posture_labels=list(POSTURE_KEYS.values()),
            stores=_stores(result, visible),
            coverage=coverage_view(result, {h.address for h in visible.hosts}, anchors),
        )
