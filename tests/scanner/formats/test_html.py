"""The HTML report: self-contained, escaped, and showing what an auditor needs."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from scanner.formats import OutputFormat, formatter_for
from scanner.formats.html_findings import INLINE_LIMIT
from scanner.formats.html_text import link, money, money_about
from scanner.model import (
    Confidence,
    KnownExploited,
    Observation,
    ScanResult,
    Severity,
    Vulnerability,
)
from scanner.support.resources import reports_dir
from tests.factories import (
    FINGERPRINT_A,
    FINGERPRINT_B,
    make_assessment,
    make_category_at_risk,
    make_cost_estimate,
    make_customer_trust,
    make_duty,
    make_finding,
    make_host,
    make_host_at_risk,
    make_notice,
    make_observation,
    make_plan_step,
    make_result,
    make_segment_at_risk,
    make_service,
)
from tests.scanner.formats.page_data import embedded_data
from tests.scanner.formats.support import HOSTILE, SCRIPT, assert_golden, hostile_result
from tests.support import FIXTURES

SECTIONS = [
    "summary",
    "trust",
    "plan",
    "findings",
    "hosts",
    "firewall",
    "datastores",
    "appendix",
    "coverage",
]
CONTROLS = "\x00\x01\x08\x0b\x1b\x7f\x9b"


def _risk(score: str, level: str) -> str:
    """A risk score as the report prints it: marked with its level."""
    return f'<span class="risk risk-{level}" title="risk level: {level}">{score}</span>'


def _render(result: ScanResult) -> str:
    return formatter_for(OutputFormat.HTML).format(result)


def _store(host: str, port: int, facts: dict[str, tuple[str, str]]) -> tuple[Observation, ...]:
    return tuple(
        Observation(host, port, "datastore", key, value, evidence)
        for key, (value, evidence) in facts.items()
    )


def _observations() -> tuple[Observation, ...]:
    store = _store(
        "127.0.0.11",
        3306,
        {
            "store.auth": ("none", "logged in as root with an empty password"),
            "store.tls_offered": ("no", "the server has no SSL capability"),
            "store.plaintext_allowed": ("yes", "the server has no SSL capability"),
            "store.personal_data": ("yes", "read as root: 3 container(s); personal data in shop"),
            "store.records": ("120000", ""),
            "store.pii.email": ("120000", "email in customers (~120,000 records)"),
            "store.pii.card-number": ("45000", "card-number in payments (~45,000 records)"),
            "store.password_storage": ("plaintext", "sampled passwords: 20 plaintext"),
        },
    )
    posture = (
        make_observation(
            host="127.0.0.10",
            port=None,
            probe="firewall",
            key="firewall.posture",
            value="unfiltered",
            evidence="nmap scan of 1000 TCP ports: 2 open; 998 closed (reset)",
        ),
        make_observation(
            host="127.0.0.11",
            port=None,
            probe="local",
            key="local.firewall",
            value="default-deny",
            evidence="nftables: input policy drop",
        ),
    )
    return (make_observation(), *store, *posture)


def _assessed() -> ScanResult:
    return replace(
        make_result(observations=_observations()),
        assessment=make_assessment(),
        rule_set="412 rules in 31 files, sha256 1a2b3c4d5e6f",
    )


def test_golden() -> None:
    """The whole page for a fixed, assessed result; after an intended change to the
    template, the style or the script, rewrite it with TRUSTSCAN_UPDATE_GOLDEN=1."""
    assert_golden("result.html", _render(_assessed()))


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <script> and <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.raw:
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.raw[self._in].append(data)


class _Balance(HTMLParser):
    """Checks that every element is closed where it was opened."""

    VOID = frozenset({"meta", "br", "input", "hr", "img", "link", "wbr", "col", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-3:]} at {self.getpos()}")
        else:
            self.stack.pop()


def _elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- structure and self-containment ---------------------------------------------------


def test_sections_are_all_there_in_order() -> None:
    for result in (_assessed(), make_result()):
        html = _render(result)
        assert re.findall(r'<section id="([\w-]+)"', html) == SECTIONS


def test_csp_allows_exactly_the_inline_style_and_script_by_hash() -> None:
    html = _render(_assessed())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert style is not None
    assert script is not None
    assert script.group(1) == (reports_dir() / "report.js").read_text(encoding="utf-8")
    assert csp.group(1) == (
        f"default-src 'none'; script-src {_sha256(script.group(1))}; "
        f"style-src {_sha256(style.group(1))}; img-src data:; base-uri 'none'; "
        "form-action 'none'"
    )
    assert "unsafe-inline" not in html


def test_the_report_loads_nothing_from_outside() -> None:
    result = _assessed()
    html = _render(result)
    found = _elements(html)
    names = [tag for tag, _ in found.tags]
    # Ours, and the findings' data block, which the browser never runs.
    scripts = [attrs for tag, attrs in found.tags if tag == "script"]
    assert scripts == [{}, {"id": "fdata", "type": "application/json", "data-encoding": "json"}]
    assert names.count("style") == 1
    for tag in ("link", "img", "iframe", "object", "embed", "base", "form"):
        assert tag not in names
    for tag, attrs in found.tags:
        assert "src" not in attrs, tag
        assert "style" not in attrs, tag  # the CSP would block it
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        href = attrs.get("href")
        if href is not None and not href.startswith("#"):
            assert href.startswith("https://"), href
            assert attrs.get("rel") == "noopener noreferrer", href
    css = "".join(found.raw["style"])
    assert "url(" not in css
    assert "@import" not in css


def test_every_link_inside_the_page_has_a_target() -> None:
    html = _render(_assessed())
    found = _elements(html)
    ids = {attrs["id"] for _, attrs in found.tags if attrs.get("id")}
    for _, attrs in found.tags:
        href = attrs.get("href") or ""
        if href.startswith("#"):
            assert href[1:] in ids, href


@pytest.mark.parametrize("shared", [False, True])
def test_every_element_is_closed_where_it_was_opened(shared: bool) -> None:
    result = _assessed()
    if shared:
        many = tuple(make_finding(host=f"10.0.1.{i + 1}") for i in range(INLINE_LIMIT + 1))
        result = replace(result, findings=result.findings + many)
    checker = _Balance()
    checker.feed(_render(result))
    assert checker.errors == []
    assert checker.stack == []


def test_the_same_result_renders_the_same_bytes() -> None:
    assert _render(_assessed()) == _render(_assessed())


# -- hostile values --------------------------------------------------------------------


def _hostile_everywhere() -> ScanResult:
    base = hostile_result()
    fp = base.findings[0].fingerprint
    evil = replace(
        base.findings[0],
        references=("javascript:alert(1)", f"https://e.invalid/{HOSTILE}"),
        category=HOSTILE,
        vulnerabilities=(
            Vulnerability(HOSTILE, Severity.HIGH, 9.8, HOSTILE, HOSTILE, (HOSTILE,), (HOSTILE,)),
        ),
    )
    observations = (
        *_store(
            base.hosts[0].address,
            80,
            {
                "store.auth": (HOSTILE, HOSTILE),
                "store.tls_offered": ("no", HOSTILE),
                "store.personal_data": (
                    "yes",
                    f"read: personal data in table {HOSTILE} ({SCRIPT})",
                ),
                "store.records": (HOSTILE, ""),
                f"store.pii.{HOSTILE}": ("12", f"{HOSTILE} in {HOSTILE} (~12 records)"),
                "store.gap": ("unreadable", HOSTILE),
            },
        ),
        make_observation(port=None, key="firewall.posture", value=HOSTILE, evidence=HOSTILE),
        make_observation(key="http.tokens", value="Server", evidence=HOSTILE),
    )
    trust = make_customer_trust(
        categories=(
            make_category_at_risk(
                category=HOSTILE, segments=(HOSTILE,), sources=(HOSTILE,), fingerprints=(fp,)
            ),
        ),
        hosts=(
            make_host_at_risk(
                host=HOSTILE,
                system=HOSTILE,
                owner=HOSTILE,
                categories=(HOSTILE,),
                segments=(HOSTILE,),
                sources=(HOSTILE,),
                fingerprints=(fp,),
            ),
        ),
        segments=(make_segment_at_risk(name=HOSTILE, categories=(HOSTILE,), fingerprints=(fp,)),),
        duties=(
            make_duty(
                why=HOSTILE, who=HOSTILE, reference="javascript:alert(1)", fingerprints=(fp,)
            ),
        ),
        cost=make_cost_estimate(source=HOSTILE, currency=HOSTILE, counted=HOSTILE),
        notices=(
            make_notice(
                segment=HOSTILE,
                subject=f"[{HOSTILE}] {HOSTILE}",
                known=HOSTILE,
                doing=HOSTILE,
                advice=(HOSTILE, f"[x{SCRIPT}]"),
                contact=f"[{SCRIPT}]",
            ),
        ),
    )
    assessment = make_assessment(
        hosts=(),
        findings=(),
        plan=(
            make_plan_step(
                host=HOSTILE, remediation=HOSTILE, system=HOSTILE, owner=HOSTILE, fingerprints=(fp,)
            ),
        ),
        inventory_source=HOSTILE,
        trust=trust,
    )
    return replace(
        base,
        findings=(evil,),
        observations=observations,
        assessment=assessment,
        rule_set=HOSTILE,
        rule_sources=(HOSTILE,),
        nmap=replace(base.nmap, commands=(HOSTILE,)),
    )


@pytest.mark.parametrize(
    "result", [hostile_result(), _hostile_everywhere()], ids=["findings", "everywhere"]
)
def test_everything_from_a_target_is_escaped(result: ScanResult) -> None:
    html = _render(result)
    found = _elements(html)
    scripts = [attrs for tag, attrs in found.tags if tag == "script"]
    assert [a.get("id") for a in scripts] == [None, "fdata"]  # ours, and the data block
    ours, data = found.raw["script"]
    assert ours == (reports_dir() / "report.js").read_text("utf-8")
    # In the data, nothing that could start markup: the text is JSON's escapes.
    assert not set(data) & set("<>&")
    assert SCRIPT in json.dumps(embedded_data(html))
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '" onmouseover="x' not in html
    for tag, attrs in found.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not (attrs.get("href") or "").lower().startswith("javascript:")
    for char in CONTROLS:
        assert char not in html, repr(char)
    assert "\\x1b[31m" in html  # control characters are shown, not sent


def test_placeholders_in_notices_are_marked_but_their_text_stays_escaped() -> None:
    html = _render(_hostile_everywhere())
    assert '<mark class="ph">[&lt;script&gt;alert(1)&lt;/script&gt;]</mark>' in html
    assert '<mark class="ph">[x&lt;script&gt;' in html


def test_a_javascript_url_is_shown_not_linked() -> None:
    assert link("javascript:alert(1)").href is None
    assert link("https://e.invalid/a").href == "https://e.invalid/a"
    assert link("https://e.invalid/\n").href is None
    html = _render(_hostile_everywhere())
    assert "<code>javascript:alert(1)</code>" in html


def test_hostile_nmap_xml_end_to_end(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    hostile = FIXTURES / "hostile" / "banner-xss.xml"
    run = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "--nmap-xml", str(hostile), "-o", str(report)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    html = report.read_text(encoding="utf-8")
    assert html.count("<script") == 2  # ours, and the findings' data
    assert html.count('<script id="fdata" type="application/json"') == 1
    assert "&lt;script&gt;" in html
    assert "\x9b" not in html
    assert "\x7f" not in html


# -- the summary -----------------------------------------------------------------------


def test_summary_counts_every_severity() -> None:
    result = make_result()
    html = _render(result)
    counts = result.severity_counts()
    row = re.search(r'<table class="counts">.*?<tbody><tr>(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="sev-(\w+)">(\d+)</td>', row.group(1))
    assert {sev: int(n) for sev, n in cells} == {s.value: n for s, n in counts.items()}
    # ... and the chart says the same in its text.
    assert "critical: 1; high: 1; medium: 1; low: 0; info: 1." in html


def test_summary_states_the_overall_risk_and_the_top_risks() -> None:
    html = _render(_assessed())
    summary = html[html.index('<section id="summary"') : html.index('<section id="trust"')]
    assert f'<span class="bignum">{_risk("40.0", "critical")}</span>' in summary
    assert "Overall risk: <strong" in summary
    assert ">critical</strong>" in summary
    assert "customer-db (127.0.0.11)" in summary
    # The top risks come from the plan, with why they matter for customers.
    assert "Allow MariaDB only from the application servers." in summary
    assert "Upgrade Apache httpd to a supported 2.4 release." in summary
    # What the riskiest step's host holds, from the trust summary's host rows.
    assert "120,000 customer records (store statistics): email, name, card-number" in summary
    assert escape(make_result().findings[0].trust.impact) in summary
    # Key trust figures, each linking to its part of the trust section.
    assert '<a href="#trust-data"><span class="k">120,000</span> customers at risk' in summary
    assert '<span class="k">about $21 million</span>' in summary
    assert "GDPR Art. 33(1); GDPR Art. 34(1); PCI DSS v4.0 Req. 12.10" in summary
    assert 'role="img"' in summary  # the charts
    assert "127.0.0.11 customer-db: 40.0" in summary


def test_money() -> None:
    assert money(20_760_000.0, "USD") == "$20,760,000"
    assert money(173.5, "EUR", 2) == "\u20ac173.50"
    assert money(5.0, "CHF") == "5 CHF"
    assert money_about(20_760_000.0, "USD") == "about $20.8 million"
    assert money_about(2_000_000_000.0, "GBP") == "about \u00a32 billion"
    assert money_about(171_000_000.0, "CHF") == "about 171 million CHF"


# -- customer trust and the plan -------------------------------------------------------


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}"')
    return html[start : html.index("</section>", start)]


def test_the_trust_section_shows_data_duties_cost_and_notices() -> None:
    html = _render(_assessed())
    trust = _section(html, "trust")
    assert '<th scope="row">email</th><td class="n">120,000</td>' in trust
    assert (
        '<th scope="row">customers with a stored payment card</th><td class="n">45,000</td>'
        in trust
    )
    for basis in ("GDPR Art. 33(1)", "GDPR Art. 34(1)", "PCI DSS v4.0 Req. 12.10"):
        assert basis in trust
    assert "within 72 hours of becoming aware of the breach" in trust
    assert f'href="#f-{FINGERPRINT_B}"' in trust  # the finding that triggers each duty
    assert '<span class="bignum">about $21 million</span>' in trust
    assert "$20,760,000" not in trust  # an estimate, never to the dollar
    assert "\u00d7 $173 per record" in trust
    assert "IBM/Ponemon Cost of a Data Breach Report 2024" in trust
    # The reference case, with its figures and dates.
    for fact in (
        "77,000,000 accounts",
        "about $171 million",
        "7 days</strong> before customers were told",
        "17&ndash;19 April 2011",
        "20 April 2011",
        "26 April 2011",
    ):
        assert fact in trust
    assert "0.16% of PSN&#39;s 77 million" in trust
    # One ready-to-send draft per segment, its placeholders marked.
    assert trust.count('class="notice-draft"') == 2
    assert "Subject: Important: your payment card details may have been exposed" in trust
    assert '<mark class="ph">[date]</mark>' in trust
    assert '<mark class="ph">[contact address or phone line]</mark>' in trust
    assert "<li>Check your card statements.</li>" in trust


def test_the_plan_lists_every_step_with_links_to_its_findings() -> None:
    html = _render(_assessed())
    plan = _section(html, "plan")
    assert plan.count('role="row" id="p-') == 2
    first = plan[plan.index('id="p-1"') : plan.index('id="p-2"')]
    assert "customer-db" in first
    assert "dba@example.test" in first
    assert "40.0" in first
    assert "sev-critical" in first
    assert f'<a href="#f-{FINGERPRINT_B}">MariaDB accepts connections from the network</a>' in first
    assert f'<a href="#f-{FINGERPRINT_A}">' in plan[plan.index('id="p-2"') :]


def test_without_an_assessment_the_report_says_not_assessed() -> None:
    html = _render(make_result())
    for name in ("trust", "plan"):
        assert "Not assessed" in _section(html, name)
    assert "Overall risk:" not in html
    assert "Not assessed" in _section(html, "summary")
    assert html.count('<span class="c-risk">\u2013</span>') == 4


def test_an_assessment_with_no_trust_data_renders() -> None:
    result = replace(
        make_result(),
        assessment=make_assessment(
            trust=make_customer_trust(
                categories=(),
                segments=(),
                duties=(),
                cost=None,
                notices=(),
                records_at_risk=0,
                customers_at_risk=None,
            )
        ),
    )
    html = _render(result)
    assert "No notification duty is triggered" in html
    assert "Not estimated" in html
    assert "no notice is drafted" in html


# -- findings ---------------------------------------------------------------------------


def test_findings_show_evidence_remediation_and_trust_impact() -> None:
    result = _assessed()
    html = _render(result)
    for finding in result.findings:
        assert finding.fingerprint in html
        assert escape(finding.remediation) in html
        assert escape(finding.trust.impact) in html
        for evidence in finding.evidence:
            assert escape(evidence) in html


def test_findings_carry_sort_keys_and_are_ordered_by_risk() -> None:
    html = _render(_assessed())
    rows = re.findall(
        r'<article class="finding[^"]*" id="f-(\w+)" data-sev="(\d)" data-risk="([-\d.]+)"', html
    )
    assert [fp for fp, _, _ in rows[:2]] == [FINGERPRINT_B, FINGERPRINT_A]
    assert [float(r) for _, _, r in rows] == [40.0, 15.8, -1.0, -1.0]  # unscored last
    assert rows[2][1] > rows[3][1]  # ... most severe first
    # The filter lists name every host, rule and category once, with counts.
    assert '<option value="127.0.0.10">127.0.0.10 (2)</option>' in html
    assert '<option value="mariadb-exposed">mariadb-exposed (1)</option>' in html
    assert '<option value="end-of-life">end-of-life (1)</option>' in html
    assert "showing 4 of 4 findings" in html


def test_finding_details_show_vulnerabilities_risk_factors_and_references() -> None:
    vuln = Vulnerability(
        "CVE-2021-41773",
        Severity.CRITICAL,
        9.8,
        "CVSS:3.1/AV:N",
        "",
        ("2.4.51",),
        ("https://nvd.nist.gov/vuln/detail/CVE-2021-41773",),
    )
    result = _assessed()
    findings = (replace(result.findings[0], vulnerabilities=(vuln,)), *result.findings[1:])
    html = _render(replace(result, findings=findings))
    assert "<code>CVE-2021-41773</code>" in html
    assert "9.8 <code>CVSS:3.1/AV:N</code>" in html
    assert f"{_risk('15.8', 'high')} = high severity \u00d77" in html
    assert (
        'href="https://nvd.nist.gov/vuln/detail/CVE-2021-41773" rel="noopener noreferrer"' in html
    )
    ref = "https://httpd.apache.org/security/vulnerabilities_24.html"
    assert f'<a class="ext" href="{ref}" rel="noopener noreferrer">' in html
    assert '<a href="#p-2">plan step 2</a>' in html


def test_a_vulnerability_without_cvss_says_so_and_a_kev_cve_says_it_is_exploited() -> None:
    """The Apache project's records carry no CVSS: the table says so, no score is
    shown, and a CVE on CISA's KEV list says since when attackers use it."""
    kev = KnownExploited("2021-11-03", "2021-11-17", "Known", "2025.08.25")
    vulns = (
        Vulnerability(
            "CVE-2021-41773", Severity.CRITICAL, vendor_severity="critical", exploited=kev
        ),
        Vulnerability("CVE-2021-40438", Severity.CRITICAL, vendor_severity="critical"),
    )
    result = _assessed()
    findings = (replace(result.findings[0], vulnerabilities=vulns), *result.findings[1:])
    html = _render(replace(result, findings=findings))
    table = html[html.index('<table class="vulns">') :]
    table = table[: table.index("</table>")]
    assert table.count("<td>no CVSS in the data</td>") == 2
    assert (
        "<code>CVE-2021-41773</code><br><strong>exploited in the wild</strong> "
        "(CISA KEV since 2021-11-03; fix due 2021-11-17)</td>"
    ) in table
    assert "<code>CVE-2021-40438</code></td>" in table


def test_a_shared_vulnerability_list_without_cvss_says_so() -> None:
    vuln = Vulnerability("CVE-2021-41773", Severity.CRITICAL)
    findings = tuple(
        make_finding(host=f"10.0.{i // 250}.{i % 250 + 1}", vulnerabilities=(vuln,))
        for i in range(INLINE_LIMIT + 1)
    )
    html = _render(make_result(findings=findings))
    assert "1 known vulnerabilities, no CVSS in the data: list v-0</a>" in html
    assert "worst CVSS" not in html


def test_many_findings_print_each_rule_text_and_vulnerability_list_once() -> None:
    vuln = Vulnerability("CVE-2021-41773", Severity.CRITICAL, 9.8)
    findings = tuple(
        make_finding(
            host=f"10.0.{i // 250}.{i % 250 + 1}",
            vulnerabilities=(vuln,),
            confidence=Confidence.HIGH,
        )
        for i in range(INLINE_LIMIT + 1)
    )
    html = _render(make_result(findings=findings))
    description = str(escape(findings[0].description))
    assert html.count(description) == 1
    assert html.count("<code>CVE-2021-41773</code>") == 1
    assert html.count('data-ref="t-0" href="#t-0"') == INLINE_LIMIT + 1
    assert html.count('data-ref="v-0" href="#v-0"') == INLINE_LIMIT + 1
    assert '<article class="shared" id="t-0">' in html
    assert '<body class="big">' in html


def test_a_version_nmap_could_not_tell_is_listed_as_unknown() -> None:
    host = make_host(services=(make_service(product="Apache httpd", version=""),))
    assert "version unknown" in _render(make_result(hosts=(host,), findings=()))


# -- hosts, firewall, data stores, appendix ---------------------------------------------


def test_hosts_show_risk_system_and_owner() -> None:
    hosts = _section(_render(_assessed()), "hosts")
    assert (
        '<a href="#h-1">127.0.0.11</a></th><td>customer-db</td><td>dba@example.test</td>' in hosts
    )
    assert f"risk {_risk('40.0', 'critical')} &middot; customer-db &middot; owner dba" in hosts
    assert "Apache httpd 2.2.15 ((CentOS))" in hosts


def test_each_host_shows_its_packet_filter_posture() -> None:
    firewall = _section(_render(_assessed()), "firewall")
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", firewall)
    assert len(rows) == 2
    assert '<span class="v v-bad">unfiltered</span>' in rows[0]
    assert "998 closed (reset)" in rows[0]
    assert rows[0].count("not checked") == 4
    assert '<span class="v v-good">default deny</span>' in rows[1]
    assert "No packet-filter posture" in _section(_render(make_result()), "firewall")


def test_posture_evidence_is_escaped() -> None:
    result = make_result(
        hosts=(make_host(),),
        observations=(
            make_observation(
                port=None,
                probe="firewall",
                key="firewall.posture",
                value="partially-filtered",
                evidence="997 <filtered>",
            ),
            make_observation(port=None, probe="firewall", key="firewall.probed_ports", value="9"),
        ),
        findings=(),
    )
    html = _render(result)
    assert "partially filtered" in html
    assert "997 &lt;filtered&gt;" in html
    assert "firewall.probed_ports" not in html


def test_data_stores_show_auth_tls_categories_and_records() -> None:
    stores = _section(_render(_assessed()), "datastores")
    assert (
        '<th scope="row">127.0.0.11:3306</th><td>mysql MySQL 5.5.5-10.11.19-MariaDB-0+deb12u1</td>'
        in stores
    )
    auth = '<span class="v v-bad">none</span><span class="ev">logged in as root with an empty'
    assert auth in stores
    assert '<span class="v v-bad">no</span>' in stores  # no TLS offered
    assert '<span class="v v-bad">yes</span>' in stores  # plaintext allowed
    assert "<strong>card-number</strong> 45,000" in stores
    assert "<strong>email</strong> 120,000" in stores
    assert '<td class="n">120,000</td>' in stores
    assert '<span class="v v-bad">plaintext</span>' in stores


def test_software_named_in_http_headers_is_shown_escaped() -> None:
    result = make_result(
        hosts=(make_host(),),
        observations=(
            make_observation(
                key="http.tokens",
                value="Server, X-Powered-By",
                evidence="Server: Apache/2.4.62 (Debian); X-Powered-By: <b>PHP/8.2</b>",
            ),
        ),
        findings=(),
    )
    html = _render(result)
    assert (
        "HTTP headers name: Server: Apache/2.4.62 (Debian); X-Powered-By: &lt;b&gt;PHP/8.2" in html
    )


def test_the_appendix_states_the_method_and_its_inputs() -> None:
    appendix = _section(_render(_assessed()), "appendix")
    assert "412 rules in 31 files, sha256 1a2b3c4d5e6f" in appendix
    assert "<code>nmap -sV -oX - 127.0.0.10 127.0.0.11</code>" in appendix
    assert "nmap 7.93" in appendix
    assert "took 5 min 0 s" in appendix
    assert "<code>assets.yaml</code>" in appendix
    assert "The risk model" in appendix
    assert "tls: no answer within 5.0 s" in appendix
