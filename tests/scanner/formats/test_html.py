"""The HTML report: self-contained, escaped, and showing what an auditor needs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from markupsafe import escape

from scanner.formats import OutputFormat, formatter_for
from scanner.model import ScanResult
from tests.factories import make_finding, make_host, make_observation, make_result, make_service
from tests.support import FIXTURES

HOSTILE = "<script>alert(1)</script>"


def _render(result: ScanResult) -> str:
    return formatter_for(OutputFormat.HTML).format(result)


def _hostile_result() -> ScanResult:
    service = make_service(product=HOSTILE, extrainfo='" onmouseover="x', cpes=(HOSTILE,))
    host = make_host(hostnames=(HOSTILE,), services=(service,))
    finding = make_finding(evidence=(f"nmap: {HOSTILE}",), notes=(HOSTILE,))
    return make_result(hosts=(host,), findings=(finding,), targets=(HOSTILE,))


def test_everything_from_a_target_is_escaped() -> None:
    html = _render(_hostile_result())
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '" onmouseover="x' not in html


def test_the_report_loads_nothing_from_outside() -> None:
    html = _render(make_result())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1)
    for pattern in (r"<script", r"<link", r"<img", r"<iframe", r"\bsrc=", r"url\(", r"@import"):
        assert re.search(pattern, html, re.I) is None, pattern


def test_summary_counts_every_severity() -> None:
    result = make_result()
    html = _render(result)
    counts = result.severity_counts()
    row = re.search(r'<table class="counts">.*?<tbody><tr>(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="sev-(\w+)">(\d+)</td>', row.group(1))
    assert {sev: int(n) for sev, n in cells} == {s.value: n for s, n in counts.items()}


def test_findings_show_evidence_remediation_and_trust_impact() -> None:
    result = make_result()
    html = _render(result)
    for finding in result.findings:
        assert finding.fingerprint in html
        assert escape(finding.remediation) in html
        assert escape(finding.trust.impact) in html
        for evidence in finding.evidence:
            assert escape(evidence) in html


def test_a_version_nmap_could_not_tell_is_listed_as_unknown() -> None:
    host = make_host(services=(make_service(product="Apache httpd", version=""),))
    assert "version unknown" in _render(make_result(hosts=(host,), findings=()))


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
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "\x9b" not in html
    assert "\x7f" not in html


def test_each_host_shows_its_packet_filter_posture() -> None:
    result = make_result(
        hosts=(make_host(),),
        observations=(
            make_observation(
                port=None,
                probe="firewall",
                key="firewall.posture",
                value="partially-filtered",
                evidence="nmap scan of 1000 TCP ports: 1 open; 2 closed (reset); 997 <filtered>",
            ),
            make_observation(port=None, probe="firewall", key="firewall.probed_ports", value="9"),
        ),
        findings=(),
    )
    html = formatter_for(OutputFormat.HTML).format(result)
    assert "<dt>Packet filter &middot; From the network</dt><dd><strong>partially filtered" in html
    assert "997 &lt;filtered&gt;" in html
    assert "firewall.probed_ports" not in html


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
    html = formatter_for(OutputFormat.HTML).format(result)
    assert (
        "HTTP headers name: Server: Apache/2.4.62 (Debian); X-Powered-By: &lt;b&gt;PHP/8.2" in html
    )
