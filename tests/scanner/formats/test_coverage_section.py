"""The report's Coverage section, and the numbers every section must agree on:
one record count per store, a cost with its basis, one risk scale, no paths
of the scanning machine."""

from __future__ import annotations

import html as html_module
import re
from dataclasses import replace
from pathlib import Path

import pytest

from scanner.assessment.inventory import Asset, Inventory, Segment
from scanner.assessment.risk import RISK_LEVELS, assessed, risk_level
from scanner.formats import OutputFormat, formatter_for
from scanner.model import (
    Confidence,
    Finding,
    Host,
    NmapRun,
    Observation,
    ScanResult,
    Severity,
)
from scanner.support.resources import reports_dir
from tests.factories import (
    make_finding,
    make_host,
    make_observation,
    make_probe_error,
    make_result,
    make_service,
)
from tests.scanner.formats.support import HOSTILE, SCRIPT

CACHE = "127.0.0.15"
DB = "127.0.0.16"
WEB = "127.0.0.10"


def _store(host: str, port: int, key: str, value: str, evidence: str = "") -> Observation:
    return make_observation(
        host=host, port=port, probe="datastore", key=key, value=value, evidence=evidence
    )


def _open(host: str, port: int, rule: str, severity: Severity) -> Finding:
    return make_finding(
        rule_id=rule,
        title=f"{rule} on {host}",
        host=host,
        port=port,
        service="db",
        severity=severity,
        confidence=Confidence.CONFIRMED,
        category="personal-data",
        remediation=f"Close {host}:{port}.",
    )


def _hosts() -> tuple[Host, ...]:
    return (
        make_host(address=WEB, services=(make_service(),)),
        make_host(
            address=CACHE,
            services=(make_service(port=6379, name="redis", product="Redis", version="7.0.15"),),
        ),
        make_host(
            address=DB,
            services=(make_service(port=5432, name="postgresql", product="PostgreSQL"),),
        ),
    )


def _observations() -> tuple[Observation, ...]:
    """The demo's stores: a Redis of 361 keys, 310 of them holding emails; a
    PostgreSQL of 890 rows, 250 customers, on a system the inventory counts."""
    return (
        _store(CACHE, 6379, "store.auth", "none", "PING without AUTH answered +PONG"),
        _store(CACHE, 6379, "store.personal_data", "yes"),
        _store(CACHE, 6379, "store.records", "361"),
        _store(CACHE, 6379, "store.pii.card-number", "250"),
        _store(CACHE, 6379, "store.pii.email", "310"),
        _store(CACHE, 6379, "store.contact_data", "310"),
        _store(DB, 5432, "store.auth", "none", "trust authentication"),
        _store(DB, 5432, "store.personal_data", "yes"),
        _store(DB, 5432, "store.records", "890"),
        _store(DB, 5432, "store.pii.email", "250"),
        make_observation(host=WEB, port=80, probe="tls", key="tls.handshake", value="ok"),
    )


def _inventory(source: str = "assets.yaml") -> Inventory:
    return Inventory(
        source,
        (
            Asset(
                "customer-db",
                address=DB,
                environment="production",
                data_categories=("email", "name"),
                customer_records=120_000,
                segments=(Segment("shop customers", 120_000), Segment("business", 45_000)),
                source=f"{source}:51",
            ),
            Asset("session-cache", address=CACHE, environment="production", source=f"{source}:46"),
        ),
    )


def _scan(**overrides: object) -> ScanResult:
    fields: dict[str, object] = {
        "hosts": _hosts(),
        "observations": _observations(),
        "findings": (
            _open(CACHE, 6379, "datastore-open-card-data", Severity.CRITICAL),
            _open(DB, 5432, "datastore-open-contact-data", Severity.HIGH),
            make_finding(host=WEB, port=80, severity=Severity.MEDIUM, confidence=Confidence.LOW),
        ),
        "probe_errors": (),
        "port_choice": "-p 1-1024,5432,6379 (given)",
    }
    fields.update(overrides)
    return make_result(**fields)


def _lab() -> ScanResult:
    return assessed(_scan(), _inventory())


def _render(result: ScanResult, fmt: OutputFormat = OutputFormat.HTML) -> str:
    return formatter_for(fmt).format(result)


def _section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}"')
    return page[start : page.index("</section>", start)]


def _text(markup: str) -> str:
    """What a reader sees: no tags (a soft line break is no space)."""
    return html_module.unescape(re.sub(r"<[^>]+>", " ", markup.replace("<wbr>", "")))


# -- the section ----------------------------------------------------------------------------


def test_the_section_is_listed_and_says_what_was_checked_and_what_was_not() -> None:
    page = _render(_lab())
    assert '<li><a href="#coverage">Coverage</a></li>' in page
    coverage = _section(page, "coverage")
    text = " ".join(_text(coverage).split())
    assert "Scanned -p 1-1024,5432,6379 (given)" in text
    assert "Not scanned the other 64,509 TCP ports and every UDP port" in text
    assert "Every target answered, and no scan or probe ran out of time." in text
    assert "Nothing: every nmap batch and every probe completed." in text
    # Negative evidence: the TLS check ran on the web server and found nothing.
    assert re.search(r"TLS .* 1 service 1 0 0", text)
    assert 'title="TLS: 1 service checked, none weak (ports 80)">1 of 1 clean</span>' in coverage
    assert "What trustscan does not test" in text
    assert "STARTTLS" in text


def test_gaps_silence_and_unfinished_checks_are_listed_and_escaped() -> None:
    tarpit = make_observation(
        host=WEB, port=80, key="http.incomplete", value="budget", evidence=HOSTILE
    )
    error = make_probe_error(stage="probe:redis", target=CACHE, port=6379, message=HOSTILE)
    result = assessed(
        _scan(
            observations=(*_observations(), tarpit),
            probe_errors=(error,),
            unanswered=("127.0.0.99",),
        ),
        _inventory(),
    )
    coverage = _section(_render(result), "coverage")
    assert SCRIPT not in coverage
    assert "&lt;script&gt;" in coverage
    assert "<li>127.0.0.99</li>" in coverage
    assert "web on 127.0.0.10:80: held its answer back" in coverage
    assert "<strong>1 probe(s) failed</strong>: redis on 127.0.0.15:6379 (timeout)" in coverage
    assert "Web: port 80: held its answer back" in coverage  # the host's note
    assert "Data stores: port 6379: redis probe timeout" in coverage


def test_an_old_result_without_coverage_still_gets_the_section() -> None:
    result = replace(_lab(), coverage=None)
    coverage = _section(_render(result), "coverage")
    assert "1 of 1 clean" in coverage


# -- one number per fact ---------------------------------------------------------------------


def _store_row(page: str, where: str) -> str:
    stores = _section(page, "datastores")
    start = stores.index(f'<th scope="row">{where}</th>')
    return stores[start : stores.index("</tr>", start)]


def _trust_row(page: str, host: str) -> str:
    table = page[page.index('id="trust-hosts"') :]
    start = table.index(f">{host}</a></th>")
    return table[start : table.index("</tr>", start)]


def test_a_store_shows_one_record_count_in_every_section() -> None:
    result = _lab()
    page = _render(result)
    # The Redis: no inventory count, so the store's statistics, 310 records
    # holding personal data (not its 361 keys), everywhere.
    assert _store_row(page, "127.0.0.15:6379").endswith('<td class="n">310</td>')
    assert '<td class="n">310</td>' in _trust_row(page, CACHE)
    assert "310 customer records (store statistics) \u00d7" in page  # its findings' risk
    assert "310 customer records (store statistics): " in _section(page, "summary")
    assert "361" not in _text(page).replace("1-1024", "")
    # The PostgreSQL: the inventory counts its system, so 120,000 wherever it appears.
    assert _store_row(page, "127.0.0.16:5432").endswith('<td class="n">120,000</td>')
    assert '<td class="n">120,000</td>' in _trust_row(page, DB)
    assert "120,000 customer records (inventory) \u00d7" in page
    coverage = _section(page, "coverage")
    assert "127.0.0.16:5432" in coverage
    assert "store statistics: not used, the inventory counts the host" in coverage


def test_the_cost_is_rounded_and_says_what_it_multiplies() -> None:
    result = _lab()
    trust = result.assessment.trust if result.assessment else None
    assert trust is not None
    assert trust.cost is not None
    assert trust.cost.total == 165_000 * 173  # the exact product stays in the JSON result
    page = _render(result)
    assert "28,545,000" not in page
    assert '<span class="k">about $29 million</span> estimated breach cost' in page
    cost = page[page.index('id="trust-cost"') : page.index('id="trust-psn"')]
    assert '<span class="bignum">about $29 million</span>' in cost
    assert "165,000 customers \u00d7 $173 per record, IBM/Ponemon 2024." in cost
    markdown = _render(result, OutputFormat.MARKDOWN)
    assert "28,545,000" not in markdown
    assert (
        "Estimated breach cost: about $29 million "
        "(165,000 customers \u00d7 $173 per record, IBM/Ponemon 2024)"
    ) in markdown


def test_the_summary_explains_this_scans_own_score() -> None:
    result = _lab()
    summary = _section(_render(result), "summary")
    assert "30 is a confirmed critical weakness" not in summary  # the appendix's calibration
    assessment = result.assessment
    assert assessment is not None
    worst = assessment.hosts[0]
    assert f"Your riskiest host, {worst.system} ({worst.host}), scores {worst.score:.1f}" in summary
    assert "customer records" in summary
    # The calibration is still in the appendix's table of levels.
    assert "30 is a confirmed critical weakness" in _section(_render(result), "appendix")


# -- one risk scale -----------------------------------------------------------------------------

_RISK = re.compile(r'<span class="risk risk-(\w+)" title="risk level: \w+">([\d.]+)</span>')


def test_hosts_and_findings_share_one_risk_scale() -> None:
    page = _render(_lab())
    marks = _RISK.findall(page)
    assert marks
    for level, score in marks:
        assert level == risk_level(float(score)).name
    # A host's row: its cell's level and its mark's are the same level.
    hosts = page[page.index('id="hosts-risk"') :]
    for cell_level, mark_level in re.findall(
        r'<td class="n level-(\w+)"><span class="risk risk-(\w+)"', hosts
    ):
        assert cell_level == mark_level
    # A finding's risk mark never reuses a severity class, and a severity badge
    # never carries a risk level.
    assert not re.search(r'class="risk[^"]*sev-', page)
    assert not re.search(r'class="[^"]*badge[^"]*risk-', page)


def _css_vars(css: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", css))


def test_risk_colours_are_not_the_severity_colours() -> None:
    css = (reports_dir() / "report.css").read_text(encoding="utf-8")
    colours = _css_vars(css)
    severity = {colours[s.value] for s in Severity if s.value in colours}
    risk = {colours[f"risk-{level.name}"] for _floor, level in RISK_LEVELS}
    assert len(risk) == len(RISK_LEVELS)
    assert not severity & risk
    # The level classes the host table and the summary use are the risk colours.
    for _floor, level in RISK_LEVELS:
        assert f".level-{level.name} {{ color: var(--risk-" in css


# -- paths of the scanning machine ------------------------------------------------------------


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    return work, home


def test_no_report_shows_an_absolute_path(machine: tuple[Path, Path]) -> None:
    work, home = machine
    inventory = _inventory(f"{work}/assets/lab.yaml")
    result = assessed(
        _scan(
            nmap=NmapRun("7.93", (f"nmap -sV -oX {work}/scan.xml 127.0.0.10",), f"{home}/lab.xml"),
            rule_sources=(f"{work}/rules", "/opt/trustscan/rules/extra"),
            port_choice="nmap's ports, as /usr/share/nmap/nmap-services ranks them",
            probe_errors=(
                make_probe_error(stage="discovery", target=f"{work}/scan.xml", reason="incomplete"),
            ),
        ),
        inventory,
    )
    for fmt in (OutputFormat.HTML, OutputFormat.MARKDOWN, OutputFormat.SARIF, OutputFormat.JUNIT):
        text = _render(result, fmt)
        for absolute in (str(work), str(home), "/opt/trustscan", "/usr/share/nmap"):
            assert absolute not in text, (fmt, absolute)
    page = _render(result)
    assert "<code>~/lab.xml</code>" in page  # the imported XML, under the home directory
    assert "<code>rules</code>, <code>extra</code>" in page
    assert "<code>assets/lab.yaml</code>" in page  # the inventory, under the current directory
    assert "inventory assets/lab.yaml:51" in _text(page)
    assert "as nmap-services ranks them" in page
    # The JSON result keeps them as given: it is the record reports are made from.
    assert str(work) in _render(result, OutputFormat.JSON)
