"""Compare the HTML report with today's, in one run on one machine.

Both reports are rendered from the same synthetic scan (`build`: N findings,
default 10,000, over H hosts, default 500, rule texts of a few hundred
characters, a quarter of the findings grouping 5-30 known vulnerabilities,
data stores, firewall posture and a full assessment): today's by the code of
`--rev` (default a893e6e, the last commit with every finding an element of
the page) in a temporary git worktree and a fresh process, the new one by the
working tree's code in this process. Then one Debian Chromium (headless,
through Playwright, the browser tests' launch arguments, 1280x900) opens each
in a fresh page, round by round, the two taking turns to go first, and times
what a reader does: the findings shown (when the page is first drawn after
its load event, for the new one after it has decoded its data and built the
list, its `findings-ready` mark), each filter and sort until the page is
drawn with it (its layout forced, then the next frame), a text search with
the pages' typing pause, opening a finding and scrolling to
the last one; and the JS heap and the DOM after load.

    python -m bench.html_render [-n 10000] [--hosts 500] [--rounds 3] [--rev a893e6e]
                                [--absolute 100000] [--keep DIR]

Goals, as ratios new/old of the medians: findings shown at most 0.3x, every
filter and sort at most 0.3x (the search without its fixed pause), bytes per
finding the page lists at most 0.4x. The absolute check (`--absolute N`, 0
for none) only asks that a new report of N findings over N/20 hosts loads,
becomes ready, filters by severity to the right count and scrolls to its last
finding. The exit status is 1 when a goal is missed or the check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench.large_result import checkout
from fixtures.browser import CHROMIUM, QUIET
from scanner.formats.html import HtmlFormatter
from scanner.model import (
    Assessment,
    CategoryAtRisk,
    Confidence,
    CostEstimate,
    CustomerTrust,
    Duty,
    DutyKind,
    Finding,
    FindingRisk,
    Host,
    HostRisk,
    NmapRun,
    Notice,
    Observation,
    PlanStep,
    PortStateCount,
    Reason,
    ScanResult,
    SegmentAtRisk,
    Service,
    Severity,
    TrustImpact,
    Vulnerability,
)
from scanner.rule_engine.rules import fingerprint

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

_WORDS = (
    "server version release attacker request header module customer account session password "
    "record database network exposure patch upstream vendor package backport certificate "
    "protocol cipher configuration default credential access remote service"
)
_VOCABULARY = tuple(_WORDS.split(" "))
_SEVERITIES = (
    [Severity.CRITICAL] * 1 + [Severity.HIGH] * 3 + [Severity.MEDIUM] * 4 + [Severity.LOW] * 2
) + [Severity.INFO]
_WEIGHT = {
    Severity.CRITICAL: 10.0,
    Severity.HIGH: 7.0,
    Severity.MEDIUM: 4.0,
    Severity.LOW: 1.0,
    Severity.INFO: 0.0,
}
_CATEGORIES = ("outdated-software", "end-of-life", "exposure", "configuration", "tls", "data")


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(_VOCABULARY))
    return " ".join(words).capitalize() + "."


@dataclass(frozen=True)
class RuleText:
    rule_id: str
    title: str
    severity: Severity
    category: str
    description: str
    remediation: str
    impact: str
    references: tuple[str, ...]


def _rules(rng: random.Random, count: int = 80) -> list[RuleText]:
    rules = []
    for i in range(count):
        category = _CATEGORIES[i % len(_CATEGORIES)]
        rules.append(
            RuleText(
                rule_id=f"{category}-{i:03d}",
                title=f"{_text(rng, 50)[:-1]} ({i})",
                severity=rng.choice(_SEVERITIES),
                category=category,
                description=_text(rng, 380),
                remediation=_text(rng, 200),
                impact=_text(rng, 240),
                references=tuple(
                    f"https://vendor.example/security/advisory-{i}-{j}.html"
                    for j in range(rng.randint(1, 3))
                ),
            )
        )
    return rules


_PORTS = (
    (80, "http", "Apache httpd", "2.4.49"),
    (443, "http", "nginx", "1.18.0"),
    (22, "ssh", "OpenSSH", "8.4p1 Debian 5+deb11u1"),
    (3306, "mysql", "MySQL", "5.7.33"),
    (5432, "postgresql", "PostgreSQL DB", "13.4"),
    (6379, "redis", "Redis key-value store", "6.0.16"),
)


def _address(i: int) -> str:
    return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256 or 1}"


def _vulns(rng: random.Random, count: int) -> tuple[Vulnerability, ...]:
    return tuple(
        Vulnerability(
            id=f"CVE-20{rng.randint(10, 25)}-{rng.randint(1000, 49999)}",
            severity=rng.choice(_SEVERITIES[:-1]),
            cvss_score=round(rng.uniform(3, 10), 1),
            cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            fixed_in=(f"2.4.{rng.randint(50, 62)}",),
            references=(
                f"https://nvd.nist.gov/vuln/detail/CVE-2021-{rng.randint(1000, 49999)}",
                "https://httpd.apache.org/security/vulnerabilities_24.html",
            ),
        )
        for _ in range(count)
    )


def build(findings: int = 10_000, hosts: int = 500, seed: int = 2011) -> ScanResult:
    """A scan result of `findings` findings over `hosts` hosts, with an assessment."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible
    rules = _rules(rng)
    host_list: list[Host] = []
    observations: list[Observation] = []
    for h in range(hosts):
        address = _address(h + 1)
        services = tuple(
            Service(
                port,
                "tcp",
                "open",
                "syn-ack",
                name,
                product,
                version,
                method="probed",
                conf=10,
                cpes=(f"cpe:/a:{name}:{name}:{version.split()[0]}",),
            )
            for port, name, product, version in _PORTS[: 3 + h % 4]
        )
        host_list.append(
            Host(
                address,
                hostnames=(f"host-{h}.shop.example",),
                services=services,
                extraports=(PortStateCount("filtered", 994, (Reason("no-response", 994),)),),
            )
        )
        observations.append(
            Observation(
                address,
                None,
                "firewall",
                "firewall.posture",
                "partially-filtered",
                "nmap scan of 1000 TCP ports: 4 open; 2 closed (reset); 994 <filtered>",
            )
        )
        observations.append(
            Observation(
                address,
                80,
                "http",
                "http.tokens",
                "Server",
                "Server: Apache/2.4.49 (Unix) OpenSSL/1.1.1k",
            )
        )
        if h % 10 == 0:
            port = 3306
            observations += [
                Observation(
                    address,
                    port,
                    "datastore",
                    "store.auth",
                    "none",
                    "logged in as root with no password",
                ),
                Observation(
                    address,
                    port,
                    "datastore",
                    "store.tls_offered",
                    "no",
                    "server has no SSL capability",
                ),
                Observation(
                    address,
                    port,
                    "datastore",
                    "store.plaintext_allowed",
                    "yes",
                    "server has no SSL capability",
                ),
                Observation(
                    address,
                    port,
                    "datastore",
                    "store.personal_data",
                    "yes",
                    "read as root: 12 container(s); personal data in table customers",
                ),
                Observation(address, port, "datastore", "store.records", "250000", ""),
                Observation(
                    address,
                    port,
                    "datastore",
                    "store.pii.email",
                    "250000",
                    "email in customers (~250,000 records); masked samples: j***@example.com",
                ),
                Observation(
                    address,
                    port,
                    "datastore",
                    "store.pii.card-number",
                    "40000",
                    "card-number in payments (~40,000 records)",
                ),
            ]
    version_vulns = {
        (rule.rule_id, variant): _vulns(rng, rng.randint(5, 30))
        for rule in rules
        for variant in range(3)
    }
    all_findings: list[Finding] = []
    per_host = max(1, -(-findings // hosts))
    for i in range(findings):
        h, k = divmod(i, per_host)
        host = host_list[h % hosts]
        rule = rules[(h * 7 + k) % len(rules)]
        service = host.services[k % len(host.services)]
        # Known vulnerabilities follow the product version: a rule sees a few versions.
        vulns = version_vulns[(rule.rule_id, h % 3)] if rule.category == "outdated-software" else ()
        all_findings.append(
            Finding(
                rule_id=rule.rule_id,
                title=rule.title,
                severity=rule.severity,
                confidence=rng.choice(list(Confidence)),
                host=host.address,
                port=service.port,
                protocol="tcp",
                service=service.name,
                evidence=tuple(
                    f"nmap: {service.port}/tcp {service.name}: {service.banner}; {_text(rng, 60)}"
                    for _ in range(rng.randint(2, 4))
                ),
                description=rule.description,
                remediation=rule.remediation,
                trust=TrustImpact(("customer accounts", "email addresses"), rule.impact),
                fingerprint=fingerprint(rule.rule_id, host.address, "tcp", service.port),
                category=rule.category,
                references=rule.references,
                notes=(_text(rng, 120),) if rng.random() < 0.3 else (),
                vulnerabilities=vulns,
            )
        )
    result = ScanResult(
        schema_version="1.2",
        tool_version="0.1.0",
        started="2026-11-25T10:00:00+00:00",
        finished="2026-11-25T11:42:13+00:00",
        targets=("10.0.0.0/23",),
        nmap=NmapRun("7.93", ("nmap -sV -oX - 10.0.0.0/23",)),
        hosts=tuple(host_list),
        observations=tuple(observations),
        findings=tuple(all_findings),
        rule_sources=("rules",),
        rule_set="412 rules in 31 files, sha256 1a2b3c4d5e6f",
    )
    return ScanResult(**{**result.__dict__, "assessment": _assessment(result, rng)})


def _assessment(result: ScanResult, rng: random.Random) -> Assessment:
    risks = [
        FindingRisk(
            f.fingerprint,
            round(min(100.0, _WEIGHT[f.severity] * rng.uniform(1, 4)), 1),
            (f"{f.severity.value} severity", "production x1.2"),
        )
        for f in result.findings
    ]
    score = {r.fingerprint: r.score for r in risks}
    by_host: dict[str, list[float]] = {}
    steps: dict[tuple[str, str], list[Finding]] = {}
    for f in result.findings:
        by_host.setdefault(f.host, []).append(score[f.fingerprint])
        steps.setdefault((f.host, f.remediation), []).append(f)
    host_risks = []
    for i, (host, scores) in enumerate(by_host.items()):
        ranked = sorted(scores, reverse=True)
        total = min(100.0, ranked[0] + 0.1 * sum(ranked[1:]))
        system, owner = f"system-{i % 40}", f"team-{i % 12}@example.test"
        host_risks.append(HostRisk(host, round(total, 1), system, owner))
    plan_items = sorted(steps.items(), key=lambda item: -max(score[f.fingerprint] for f in item[1]))
    plan = tuple(
        PlanStep(
            rank=n,
            host=host,
            remediation=remediation,
            score=max(score[f.fingerprint] for f in items),
            severity=max((f.severity for f in items), key=lambda s: s.rank),
            fingerprints=tuple(f.fingerprint for f in items),
            titles=tuple(f.title for f in items),
            system="shop",
            owner="web@example.test",
        )
        for n, ((host, remediation), items) in enumerate(plan_items, 1)
    )
    exposing = [f.fingerprint for f in result.findings if f.severity.rank >= 2][:400]
    segments = (
        "customers with a stored card",
        "customers with no card",
        "business accounts",
        "newsletter only",
    )
    trust = CustomerTrust(
        records_at_risk=12_500_000,
        customers_at_risk=3_100_000,
        categories=tuple(
            CategoryAtRisk(
                cat,
                12_500_000 // (i + 1),
                3_100_000 // (i + 1),
                segments[: 1 + i % 4],
                tuple(_address(j + 1) for j in range(0, 50, 10)),
                ("assets.yaml:12",),
                tuple(exposing[i::8]),
            )
            for i, cat in enumerate(
                (
                    "email",
                    "name",
                    "address",
                    "phone",
                    "card-number",
                    "password",
                    "birth-date",
                    "iban",
                )
            )
        ),
        segments=tuple(
            SegmentAtRisk(
                name, 3_100_000 // (i + 1), ("email", "name"), (_address(1),), tuple(exposing[i::4])
            )
            for i, name in enumerate(segments)
        ),
        duties=(
            Duty(
                DutyKind.GDPR_ART_33,
                "Notify the supervisory authority",
                "GDPR Art. 33(1)",
                "within 72 hours",
                "the supervisory authority",
                "personal data exposed",
                tuple(exposing),
                "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
            ),
            Duty(
                DutyKind.GDPR_ART_34,
                "Tell the customers affected",
                "GDPR Art. 34(1)",
                "without undue delay",
                "the customers",
                "high risk to their rights",
                tuple(exposing),
            ),
            Duty(
                DutyKind.PCI_DSS,
                "Start the card-data incident response",
                "PCI DSS v4.0 Req. 12.10",
                "immediately",
                "your acquirer",
                "card numbers exposed",
                tuple(exposing[:50]),
            ),
        ),
        cost=CostEstimate(
            3_100_000, "customers at risk", 173.0, "USD", "IBM/Ponemon 2024", 536_300_000.0
        ),
        notices=tuple(
            Notice(
                name,
                3_100_000 // (i + 1),
                ("email", "name"),
                "Your details may have been exposed",
                "On [date] we found that [system] was exposed.",
                "We closed it.",
                ("Change your password.", "Watch for phishing."),
                "[contact]",
            )
            for i, name in enumerate(segments)
        ),
    )
    return Assessment(
        findings=tuple(sorted(risks, key=lambda r: -r.score)),
        hosts=tuple(sorted(host_risks, key=lambda h: -h.score)),
        inventory_source="assets.yaml",
        plan=plan,
        trust=trust,
    )


# -- the two reports ------------------------------------------------------------------

DEFAULT_REV = "a893e6e"
SHOWN_GOAL = 0.3  # findings shown, new/old
ACTION_GOAL = 0.3  # each filter and sort, new/old
BYTES_GOAL = 0.4  # bytes per finding listed, new/old
SEARCH_PAUSE_MS = 150.0  # both pages wait this long after typing before they search
BUSY_LOAD = 3.0  # a 1-minute load average above this on 2 cores: figures disturbed
PAGE_TIMEOUT_MS = 600_000.0
BLOCK_ROWS = 10  # rows in one of the new page's blocks (reports/report.js, BLOCK)


@dataclass(frozen=True)
class Report:
    """One rendered page, and the scan it was rendered from."""

    label: str
    path: Path
    findings: int
    identity: str
    render_s: tuple[float, ...]

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def identity(result: ScanResult) -> str:
    """A digest of the scan's findings (`_RENDER_OLD` computes the same one):
    equal digests, the same scan."""
    digest = hashlib.sha256()
    for f in result.findings:
        digest.update(f"{f.fingerprint} {f.severity.value} {f.rule_id}\n".encode())
    return digest.hexdigest()[:16]


# Run in the old revision's tree: its own build() and formatter.
_RENDER_OLD = """
import hashlib, json, sys, time
from pathlib import Path
import scanner
from bench.html_render import build
from scanner.formats.html import HtmlFormatter

findings, hosts, seed, rounds = (int(a) for a in sys.argv[1:5])
result = build(findings, hosts, seed)
digest = hashlib.sha256()
for f in result.findings:
    digest.update(f"{f.fingerprint} {f.severity.value} {f.rule_id}\\n".encode())
times = []
for _ in range(rounds):
    start = time.perf_counter()
    html = HtmlFormatter().format(result)
    times.append(time.perf_counter() - start)
Path(sys.argv[5]).write_text(html, encoding="utf-8")
print(json.dumps({"findings": len(result.findings), "identity": digest.hexdigest()[:16],
                  "render_s": times, "scanner": scanner.__file__}))
"""


def render_old(rev: str, findings: int, hosts: int, seed: int, rounds: int, out: Path) -> Report:
    """Today's report, rendered by `rev`'s code in a fresh process."""
    with checkout(rev) as tree:
        done = subprocess.run(
            [sys.executable, "-c", _RENDER_OLD, *map(str, (findings, hosts, seed, rounds, out))],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"rendering with {rev} failed:\n{done.stderr}")
        facts = json.loads(done.stdout.splitlines()[-1])
        # An installed trustscan must not stand in for the revision's own code.
        if not Path(facts["scanner"]).resolve().is_relative_to(tree.resolve()):
            raise SystemExit(f"{rev}: imported {facts['scanner']}, not the revision's tree")
    return Report(rev, out, facts["findings"], facts["identity"], tuple(facts["render_s"]))


def render_new(result: ScanResult, rounds: int, out: Path) -> Report:
    """The working tree's report, rendered in this process."""
    times = []
    html = ""
    for _ in range(rounds):
        start = time.perf_counter()
        html = HtmlFormatter().format(result)
        times.append(time.perf_counter() - start)
    out.write_text(html, encoding="utf-8")
    return Report("working tree", out, len(result.findings), identity(result), tuple(times))


# -- the browser ------------------------------------------------------------------------

# Until the page has been drawn with what the action did: its layout forced at
# once (what a large DOM costs is mostly there), then the next frame; a
# timeout set in a frame's rAF callback runs after that frame is rendered.
_FRAMES = (
    "(document.documentElement.getBoundingClientRect(),"
    " new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))))"
)
# Installed before each page's own script (through the browser's debugging
# protocol, which the page's CSP does not govern): when its findings were
# first drawn, the old page's after its load event, the new one's after its
# `findings-ready` mark; the first frame's layout and paint included.
_SHOWN_PROBE = """
window.__findingsShown = new Promise((resolve) => {
  const drawn = () => requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0));
  addEventListener("load", () => { if (!document.getElementById("fdata")) drawn(); });
  new PerformanceObserver((list, observer) => {
    if (list.getEntriesByName("findings-ready").length) { observer.disconnect(); drawn(); }
  }).observe({ type: "mark", buffered: true });
});
"""

# Run one action in the page and wait until the frame after it has been drawn;
# `script` is the page's handler alone (it runs before the event returns).
_TIMED = f"""async ([id, value]) => {{
  const t0 = performance.now();
  const control = document.getElementById(id);
  control.value = value;
  control.dispatchEvent(new Event("change"));
  const script = performance.now() - t0;
  await {_FRAMES};
  return {{ ms: performance.now() - t0, script }};
}}"""
_CLICK = f"""async (selector) => {{
  const t0 = performance.now();
  document.querySelector(selector).click();
  const script = performance.now() - t0;
  await {_FRAMES};
  return {{ ms: performance.now() - t0, script }};
}}"""
# What waiting for the next frame costs when nothing was done (median of 5):
# the floor under every timed action, 0-17 ms at 60 frames a second.
_IDLE = f"""async () => {{
  const times = [];
  for (let k = 0; k < 5; k += 1) {{
    const t0 = performance.now();
    await {_FRAMES};
    times.push(performance.now() - t0);
  }}
  return times.sort((a, b) => a - b)[2];
}}"""
# Type into the search field; both pages search after a pause and then set
# #fc-count (even to the same text), so the time runs until that and a frame.
_SEARCH = f"""async ([value, limit]) => {{
  const count = document.getElementById("fc-count");
  const changed = new Promise((resolve) => {{
    const seen = new MutationObserver(() => {{ seen.disconnect(); resolve(true); }});
    seen.observe(count, {{ childList: true, characterData: true, subtree: true }});
    setTimeout(() => {{ seen.disconnect(); resolve(false); }}, limit);
  }});
  const t0 = performance.now();
  const field = document.getElementById("fc-q");
  field.value = value;
  field.dispatchEvent(new Event("input"));
  const ok = await changed;
  await {_FRAMES};
  return {{ ms: performance.now() - t0, ok }};
}}"""
# To the end of the list. The new page fills its last block when the observer
# sees it; the old one has every row and lays out those it shows.
_SCROLL_END = f"""async (limit) => {{
  const list = document.getElementById("frows");
  const t0 = performance.now();
  let rows = 0;
  if (list.dataset.blocks) {{
    // The new page builds the last block when the window comes near it.
    const last = `.vblock[data-b="${{+list.dataset.blocks - 1}}"] .finding`;
    window.scrollBy(0, list.getBoundingClientRect().bottom - window.innerHeight);
    if (!list.querySelector(last)) {{
      await new Promise((resolve) => {{
        const seen = new MutationObserver(() => {{
          if (list.querySelector(last)) {{ seen.disconnect(); resolve(); }}
        }});
        seen.observe(list, {{ childList: true, subtree: true }});
        setTimeout(() => {{ seen.disconnect(); resolve(); }}, limit);
      }});
    }}
    await {_FRAMES};
    rows = list.querySelectorAll(last).length;
  }} else {{
    let last = list.lastElementChild;
    while (last && last.hidden) last = last.previousElementSibling;
    if (last) last.scrollIntoView();
    await {_FRAMES};
    rows = last ? 1 : 0;
  }}
  return {{ ms: performance.now() - t0, rows }};
}}"""
_TO_LIST = f"""async () => {{
  document.getElementById("frows").scrollIntoView();
  await {_FRAMES};
  await new Promise((r) => setTimeout(r, 300));
}}"""
_COUNT = "document.getElementById('fc-count').textContent"
_LOAD_EVENT = "performance.getEntriesByType('navigation')[0].loadEventEnd / 1000"
_READY_MARK = "performance.getEntriesByName('findings-ready')[0].startTime / 1000"

LOAD = "load event (s)"
SHOWN = "findings shown (s)"
SEARCH = f"text search incl. {SEARCH_PAUSE_MS:.0f} ms pause (ms)"
SEARCH_WORK = "text search less the pause (ms)"
# The goal's actions: each filter and sort, the search without its fixed pause.
ACTIONS = (
    "filter severity=critical (ms)",
    "reset (ms)",
    "filter rule (ms)",
    "reset after rule (ms)",
    "sort by host (ms)",
    "sort by risk (ms)",
    "header sort by title (ms)",
    SEARCH_WORK,
)
IDLE = "next frame, no action (ms)"
OPEN = "open one finding (ms)"
SCROLL = "scroll to the last finding (ms)"
HEAP = "JS heap used after GC (MB)"
NODES = "DOM nodes"


def _script(label: str) -> str:
    return f"{label.removesuffix(' (ms)')}: script only (ms)"


class PageFailed(Exception):
    """The page did not load, show its findings or do what it was asked."""


@dataclass
class PageRun:
    numbers: dict[str, float]
    counts: dict[str, str]  # #fc-count after each action
    messages: list[str]  # console errors and warnings, uncaught errors


def counted(text: str) -> tuple[int, int]:
    """(shown, total) from #fc-count's "showing X of Y findings"."""
    found = re.search(r"showing ([\d,]+) of ([\d,]+)", text)
    if found is None:
        raise PageFailed(f"#fc-count says {text!r}")
    return int(found[1].replace(",", "")), int(found[2].replace(",", ""))


def _open(browser: Browser, path: Path, messages: list[str]) -> tuple[Page, bool]:
    """A fresh page with `path` loaded and its findings shown; whether it is
    the new page (findings as data)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(_SHOWN_PROBE)
    page.on(
        "console",
        lambda m: (
            messages.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: messages.append(f"uncaught: {e}"))
    page.goto(path.as_uri(), wait_until="load", timeout=PAGE_TIMEOUT_MS)
    new = bool(page.evaluate("!!document.getElementById('fdata')"))
    if new:
        page.wait_for_function(
            "() => document.documentElement.dataset.findings", timeout=PAGE_TIMEOUT_MS
        )
        state = page.evaluate("document.documentElement.dataset.findings")
        if state != "ready":
            raise PageFailed(f"{path.name}: findings {state!r}: {messages}")
    return page, new


def _metrics(page: Page) -> dict[str, float]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    # Garbage collected first: what the page keeps, not what it happened to leave.
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cdp.detach()
    return {HEAP: metrics["JSHeapUsedSize"] / 1e6, NODES: metrics["Nodes"]}


def page_run(browser: Browser, path: Path, search: str, rule: str) -> PageRun:
    """Load one report in a fresh page and time what a reader does with it."""
    messages: list[str] = []
    numbers: dict[str, float] = {}
    counts: dict[str, str] = {}
    page, _new = _open(browser, path, messages)
    try:
        numbers[LOAD] = page.evaluate(_LOAD_EVENT)
        numbers[SHOWN] = page.evaluate("window.__findingsShown") / 1000
        counts["at load"] = page.evaluate(_COUNT)
        numbers.update(_metrics(page))
        page.evaluate(_TO_LIST)
        numbers[IDLE] = page.evaluate(_IDLE)
        for label, script, arg in (
            (ACTIONS[0], _TIMED, ["fc-sev", "4"]),
            (ACTIONS[1], _CLICK, "#fc-reset"),
            (ACTIONS[2], _TIMED, ["fc-rule", rule]),
            (ACTIONS[3], _CLICK, "#fc-reset"),
            (ACTIONS[4], _TIMED, ["fc-sort", "host"]),
            (ACTIONS[5], _TIMED, ["fc-sort", "risk"]),
            (ACTIONS[6], _CLICK, '.fhead [data-sort="title"]'),
        ):
            timed = page.evaluate(script, arg)
            numbers[label] = timed["ms"]
            numbers[_script(label)] = timed["script"]
            counts[label] = page.evaluate(_COUNT)
        typed = page.evaluate(_SEARCH, [search, 10_000])
        if not typed["ok"]:
            raise PageFailed(f"{path.name}: the search never updated #fc-count")
        numbers[SEARCH] = typed["ms"]
        numbers[SEARCH_WORK] = max(0.0, typed["ms"] - SEARCH_PAUSE_MS)
        counts[SEARCH] = page.evaluate(_COUNT)
        page.evaluate(_SEARCH, ["", 10_000])  # back to every finding, untimed
        timed = page.evaluate(_CLICK, "#frows .finding .tg")
        numbers[OPEN] = timed["ms"]
        numbers[_script(OPEN)] = timed["script"]
        end = page.evaluate(_SCROLL_END, 30_000)
        if not end["rows"]:
            raise PageFailed(f"{path.name}: the last finding never appeared")
        numbers[SCROLL] = end["ms"]
    finally:
        page.close()
    return PageRun(numbers, counts, messages)


# -- the report of the benchmark --------------------------------------------------------


def machine() -> str:
    """What the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    chromium = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"machine: {cpu}, {os.cpu_count()} CPUs, {kib / 1024**2:.0f} GB RAM; "
        f"{chromium or CHROMIUM}; {when}"
    )


def _load() -> float:
    return os.getloadavg()[0]


def _shown(value: float) -> str:
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _ratio(new: float, old: float) -> float:
    return new / old if old else float("inf")


def _table(rows: list[tuple[str, float, float]], old: str, new: str) -> None:
    width = max(len(label) for label, _, _ in rows)
    print(f"{'measure':<{width}}  {old:>12}  {new:>12}  {'new/old':>7}")
    for label, before, after in rows:
        print(
            f"{label:<{width}}  {_shown(before):>12}  {_shown(after):>12}  "
            f"{_ratio(after, before):>6.2f}x"
        )


def compare(args: argparse.Namespace, scratch: Path) -> bool:
    """Render both reports, time them in Chromium, print the table and the goals."""
    from playwright.sync_api import sync_playwright

    out = args.keep or scratch
    start = time.perf_counter()
    result = build(args.findings, args.hosts, args.seed)
    print(
        f"built {len(result.findings):,} findings on {len(result.hosts):,} hosts "
        f"in {time.perf_counter() - start:.2f} s",
        flush=True,
    )
    rounds = max(1, args.rounds)
    old = render_old(args.rev, args.findings, args.hosts, args.seed, rounds, out / "old.html")
    new = render_new(result, rounds, out / "new.html")
    if (old.findings, old.identity) != (new.findings, new.identity):
        raise SystemExit(
            f"the builds differ: {args.rev} {old.findings} findings ({old.identity}), "
            f"working tree {new.findings} ({new.identity})"
        )
    print(f"both builds: {new.findings:,} findings, digest {new.identity}", flush=True)
    critical = sum(1 for f in result.findings if f.severity is Severity.CRITICAL)
    # A rule of the riskiest finding: both pages list it (the old one lists the riskiest part).
    top = result.assessment.findings[0].fingerprint if result.assessment else ""
    rule = next((f.rule_id for f in result.findings if f.fingerprint == top), "exposure-002")
    of_rule = sum(1 for f in result.findings if f.rule_id == rule)
    # A CVE: it is in a shared vulnerability list, not in the row.
    cve = next(f.vulnerabilities[0].id for f in result.findings if f.vulnerabilities)
    del result

    runs: dict[str, list[PageRun]] = {old.label: [], new.label: []}
    loads = [_load()]
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=list(QUIET), headless=True)
        try:
            for r in range(rounds):
                # Who goes first takes turns: a warm disk cache or a busy moment favours neither.
                pair = (old, new) if r % 2 == 0 else (new, old)
                for report in pair:
                    run = page_run(browser, report.path, cve, rule)
                    runs[report.label].append(run)
                    print(
                        f"round {r + 1}, {report.label}: shown {run.numbers[SHOWN]:.2f} s, "
                        f"load {run.numbers[LOAD]:.2f} s, load average {_load():.2f}",
                        flush=True,
                    )
                loads.append(_load())
        finally:
            browser.close()

    def median(label: str, report: Report) -> float:
        return statistics.median(run.numbers[label] for run in runs[report.label])

    listed = {r.label: counted(runs[r.label][0].counts["at load"])[1] for r in (old, new)}
    per = {r.label: r.size / listed[r.label] for r in (old, new)}
    rows: list[tuple[str, float, float]] = [
        (
            "render in Python, median (s)",
            statistics.median(old.render_s),
            statistics.median(new.render_s),
        ),
        ("file size (MB)", old.size / 1e6, new.size / 1e6),
        ("findings listed by the page", listed[old.label], listed[new.label]),
        ("bytes per finding listed", per[old.label], per[new.label]),
        ("bytes per finding in the scan", old.size / old.findings, new.size / new.findings),
    ]
    labels = [LOAD, SHOWN, *ACTIONS[:-1], SEARCH, SEARCH_WORK, OPEN, SCROLL, HEAP, NODES, IDLE]
    rows += [(label, median(label, old), median(label, new)) for label in labels]
    print()
    print(f"medians of {rounds} round(s), {args.findings:,} findings on {args.hosts:,} hosts:")
    _table(rows, args.rev, "working tree")
    # Where an action's time goes: the page's handler, the rest is drawing and frames.
    print()
    scripts = [_script(label) for label in (*ACTIONS[:-1], OPEN)]
    _table([(s, median(s, old), median(s, new)) for s in scripts], args.rev, "working tree")

    print()
    print("what #fc-count said (first round):")
    for label in ["at load", *ACTIONS[:-1], SEARCH]:
        before, after = (runs[r.label][0].counts[label] for r in (old, new))
        print(f"  {label}: {before!r} / {after!r}")
    wrong = []
    for label, want in ((ACTIONS[0], critical), (ACTIONS[2], of_rule)):
        got = counted(runs[new.label][0].counts[label])
        if got != (want, new.findings):
            wrong.append(f"{label}: new page {got}, the scan has ({want}, {new.findings})")
    for report in (old, new):
        messages = sorted({m for run in runs[report.label] for m in run.messages})
        for message in messages:
            print(f"  {report.label} page: {message}")
        if not messages:
            print(f"  {report.label} page: no console error or warning")

    print()
    goals = [(f"findings shown <= {SHOWN_GOAL}x", SHOWN, SHOWN_GOAL)]
    goals += [(f"{label[:-5]} <= {ACTION_GOAL}x", label, ACTION_GOAL) for label in ACTIONS]
    met = True
    for text, label, goal in goals:
        ratio = _ratio(median(label, new), median(label, old))
        met &= ratio <= goal
        verdict = "met" if ratio <= goal else "MISSED"
        # Every timed action waits for the next frame, whatever it does: the
        # goal is judged with it, and this says what is left without it.
        net = ""
        if label in ACTIONS:
            was, now = (median(label, r) - median(IDLE, r) for r in (old, new))
            net = f" (less an idle frame: {was:.0f} -> {now:.0f} ms)"
        print(f"goal: {text}: {ratio:.2f}x {verdict}{net}")
    ratio = _ratio(per[new.label], per[old.label])
    met &= ratio <= BYTES_GOAL
    verdict = "met" if ratio <= BYTES_GOAL else "MISSED"
    print(f"goal: bytes per finding listed <= {BYTES_GOAL}x: {ratio:.2f}x {verdict}")
    for line in wrong:
        print(f"WRONG COUNT: {line}")
    busy = max(loads)
    print(f"load average (1 min) during the run: {', '.join(f'{x:.2f}' for x in loads)}")
    if busy > BUSY_LOAD:
        print(
            f"DISTURBED: the load average reached {busy:.2f} (> {BUSY_LOAD}) on "
            f"{os.cpu_count()} CPUs: other work shared the machine; run it again later"
        )
    return met and not wrong


def _right(said: str, expected: tuple[int, int]) -> bool:
    """Whether #fc-count says `expected` (shown, total); says so if not."""
    if counted(said) == expected:
        return True
    print(f"FAILED: #fc-count says {said!r}, the scan has {expected[0]:,} of {expected[1]:,}")
    return False


def absolute(n: int, keep: Path | None, scratch: Path, seed: int) -> bool:
    """A new report of `n` findings loads, becomes ready, filters right and
    scrolls to its end in Chromium."""
    from playwright.sync_api import Error, sync_playwright

    hosts = max(1, n // 20)
    print(f"\nabsolute check: {n:,} findings on {hosts:,} hosts", flush=True)
    start = time.perf_counter()
    result = build(n, hosts, seed)
    critical = sum(1 for f in result.findings if f.severity is Severity.CRITICAL)
    built = time.perf_counter() - start
    path = (keep or scratch) / f"new-{n}.html"
    start = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        for chunk in HtmlFormatter().chunks(result):
            out.write(chunk)
    rendered = time.perf_counter() - start
    del result
    size = path.stat().st_size
    print(
        f"built in {built:.1f} s, rendered in {rendered:.1f} s: "
        f"{size / 1e6:.1f} MB ({size / n:,.0f} bytes a finding)",
        flush=True,
    )
    messages: list[str] = []
    ok = True
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=list(QUIET), headless=True)
        try:
            page, new = _open(browser, path, messages)
            if not new:
                raise PageFailed("the page has no embedded findings")
            load = page.evaluate(_LOAD_EVENT)
            ready = page.evaluate(_READY_MARK)
            said = page.evaluate(_COUNT)
            print(f"loaded: load event {load:.2f} s, findings ready {ready:.2f} s: {said!r}")
            metrics = _metrics(page)
            print(f"JS heap after GC {metrics[HEAP]:.0f} MB, {metrics[NODES]:,.0f} DOM nodes")
            ok &= _right(said, (n, n))
            page.evaluate(_TO_LIST)
            took = page.evaluate(_TIMED, ["fc-sev", "4"])["ms"]
            said = page.evaluate(_COUNT)
            print(f"filter severity=critical: {took:.0f} ms: {said!r}")
            ok &= _right(said, (critical, n))
            took = page.evaluate(_CLICK, "#fc-reset")["ms"]
            said = page.evaluate(_COUNT)
            print(f"reset: {took:.0f} ms: {said!r}")
            ok &= _right(said, (n, n))
            end = page.evaluate(_SCROLL_END, 30_000)
            rows = end["rows"]
            print(f"scroll to the last finding: {end['ms']:.0f} ms, {rows} rows in the last block")
            if rows != (n % BLOCK_ROWS or BLOCK_ROWS):
                print(f"FAILED: the last block holds {rows} rows")
                ok = False
            page.close()
        except (Error, PageFailed) as failure:
            print(f"FAILED: {failure}")
            ok = False
        finally:
            browser.close()
    for message in sorted(set(messages)):
        print(f"  page: {message}")
    if not messages:
        print("  page: no console error or warning")
    print(f"absolute check at {n:,} findings: {'passed' if ok else 'FAILED'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--findings", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="renders and page loads a report")
    parser.add_argument("--rev", default=DEFAULT_REV, help="the revision of today's report")
    parser.add_argument("--seed", type=int, default=2011, help="of the synthetic scan")
    parser.add_argument(
        "--absolute", type=int, default=100_000, help="findings of the absolute check (0: none)"
    )
    parser.add_argument("--keep", type=Path, help="a directory to keep the HTML files in")
    args = parser.parse_args(argv)
    if args.findings < 1 or args.hosts < 1 or args.absolute < 0:
        parser.error("--findings and --hosts must be positive, --absolute not negative")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    print(machine())
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="trustscan-html-") as tmp:
        ok = compare(args, Path(tmp))
        if args.absolute:
            ok &= absolute(args.absolute, args.keep, Path(tmp), args.seed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
