"""The baseline against real servers and real nmap: scan a small lab, change
it, scan fewer hosts again with `--baseline`, and read what every format says.

The lab runs on its own loopback block, 127.0.91.x, with the project's
look-alike HTTP servers (`fixtures.lab.servers`: real sockets, the banners
and pages of the Apache builds they stand for), one server per port so that
each can be stopped alone:

    first scan                          second scan (web only)
    web:8080  Apache/2.4.49 (Unix)  ->  Apache/2.4.50 (Unix)   upgraded: one CVE fewer
    web:8081  Apache/2.2.15 (CentOS) -> stopped                its findings fixed
    web:8082  (nothing)             ->  Apache/2.2.34          new
    db:8080   Apache/2.4.49 (Unix)      (not a target)         not rescanned
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
import pytest

from fixtures.lab.servers import Lab, LabTarget, start
from scanner.model import BaselineState, Finding, ScanResult, Severity
from scanner.result_io import read
from scanner.rule_engine.findings import fingerprint, system_identity
from tests.support import Run, requires_nmap, trustscan

pytestmark = [pytest.mark.integration, requires_nmap]

PREFIX = "127.0.91"
WEB, DB = f"{PREFIX}.10", f"{PREFIX}.11"
PORTS = "8080,8081,8082"
INVENTORY = f"""\
assets:
  - address: {WEB}
    system: shop-web
    environment: staging
  - address: {DB}
    system: shop-db
    environment: staging
"""


def _target(name: str, octet: int, port: int, server: str) -> LabTarget:
    return LabTarget(
        name=name,
        description=f"{server} for the baseline test",
        octet=octet,
        port=port,
        kind="http",
        server=server,
        page="it-works.html",
    )


@dataclass(frozen=True)
class Scans:
    first: ScanResult
    second: ScanResult
    run: Run  # the second scan's console
    markdown: str
    html: str
    sarif: dict[str, object]
    junit: ET.Element
    diff: Run
    again: Run  # `report` of the second result against itself, gated on new findings


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scans]:
    out = tmp_path_factory.mktemp("baseline")
    inventory = out / "assets.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    labs: dict[str, Lab] = {}

    def scan(targets: list[str], name: str, *options: str, code: int = 0) -> Run:
        run = trustscan(
            "scan",
            *targets,
            "-p",
            PORTS,
            "--inventory",
            str(inventory),
            "--json",
            str(out / f"{name}.json"),
            *options,
        )
        assert run.code == code, run.err
        return run

    try:
        for key, octet, port, server in (
            ("web-8080", 10, 8080, "Apache/2.4.49 (Unix)"),
            ("web-8081", 10, 8081, "Apache/2.2.15 (CentOS)"),
            ("db-8080", 11, 8080, "Apache/2.4.49 (Unix)"),
        ):
            labs[key] = start(PREFIX, [_target(key, octet, port, server)])
        scan([WEB, DB], "first")
        # The change: one service upgraded, one stopped, one started.
        labs.pop("web-8080").stop()
        labs.pop("web-8081").stop()
        labs["web-8080"] = start(PREFIX, [_target("web-8080", 10, 8080, "Apache/2.4.50 (Unix)")])
        labs["web-8082"] = start(PREFIX, [_target("web-8082", 10, 8082, "Apache/2.2.34")])
        # Fewer hosts: the data-store host is not scanned this time.
        run = scan(
            [WEB],
            "second",
            "--baseline",
            str(out / "first.json"),
            "--markdown",
            str(out / "second.md"),
            "-o",
            str(out / "second.html"),
            "--sarif",
            str(out / "second.sarif"),
            "--junit",
            str(out / "second.xml"),
            "--fail-on-new",
            "high",
            code=1,  # Apache 2.2.34 on 8082 is new, and past its end of life
        )
        diff = trustscan("diff", str(out / "first.json"), str(out / "second.json"))
        # Nothing is new against itself: the same gate passes.
        second = str(out / "second.json")
        again = trustscan("report", second, "--baseline", second, "--fail-on-new", "high")
        yield Scans(
            first=read(out / "first.json"),
            second=read(out / "second.json"),
            run=run,
            markdown=(out / "second.md").read_text(encoding="utf-8"),
            html=(out / "second.html").read_text(encoding="utf-8"),
            sarif=json.loads((out / "second.sarif").read_text(encoding="utf-8")),
            junit=SafeET.fromstring((out / "second.xml").read_text(encoding="utf-8")),
            diff=diff,
            again=again,
        )
    finally:
        for lab in labs.values():
            lab.stop()


def _at(findings: tuple[Finding, ...], host: str, port: int | None) -> dict[str, Finding]:
    return {f.rule_id: f for f in findings if f.host == host and f.port == port}


def test_the_first_scan_found_the_lab(scans: Scans) -> None:
    first = scans.first
    assert {h.address for h in first.hosts} == {WEB, DB}
    assert "apache-httpd-known-vulnerabilities" in _at(first.findings, WEB, 8080)
    assert "apache-httpd-eol" in _at(first.findings, WEB, 8081)
    assert "apache-httpd-known-vulnerabilities" in _at(first.findings, DB, 8080)
    assert _at(first.findings, WEB, 8082) == {}
    # The inventory names each host alone: its findings are keyed by its system.
    for finding in first.findings:
        system = "shop-web" if finding.host == WEB else "shop-db"
        assert finding.fingerprint == fingerprint(
            finding.rule_id,
            system_identity(system),
            finding.protocol,
            finding.port,
            finding.subject,
        )


def test_each_finding_of_the_second_scan_has_its_state(scans: Scans) -> None:
    second = scans.second
    assert {h.address for h in second.hosts} == {WEB}
    upgraded = _at(second.findings, WEB, 8080)
    cves = upgraded["apache-httpd-known-vulnerabilities"]
    assert cves.baseline is BaselineState.CHANGED  # 2.4.50 fixed CVE-2021-41773
    assert "CVE-2021-41773" in next(n for n in cves.notes if n.startswith("Since the baseline"))
    # Still outdated, but surer: its CentOS neighbour on 8081, which made the
    # banner possibly a backporting distribution's build, is gone.
    outdated = upgraded["apache-httpd-outdated"]
    assert outdated.baseline is BaselineState.CHANGED
    assert "confidence low \u2192 high" in next(
        n for n in outdated.notes if n.startswith("Since the baseline")
    )
    started = _at(second.findings, WEB, 8082)
    assert "apache-httpd-eol" in started
    assert {f.baseline for f in started.values()} == {BaselineState.NEW}


def test_what_is_gone_is_fixed_or_not_rescanned(scans: Scans) -> None:
    comparison = scans.second.baseline
    assert comparison is not None
    first = scans.first.findings
    now = {f.fingerprint for f in scans.second.findings}
    stopped = {f.fingerprint for f in first if f.host == WEB and f.port == 8081}
    assert stopped
    assert stopped.isdisjoint(now)
    # Fixed: everything gone from the host scanned again, the stopped server's
    # findings and what the host as a whole no longer shows (its CentOS banner
    # was the stopped server's).
    fixed = {f.fingerprint for f in comparison.fixed}
    assert fixed == {f.fingerprint for f in first if f.host == WEB} - now
    assert stopped <= fixed
    assert {f.port for f in comparison.fixed} <= {8081, None}
    # Every finding on the host not scanned again is not rescanned, never fixed.
    assert {f.fingerprint for f in comparison.not_rescanned} == {
        f.fingerprint for f in first if f.host == DB
    }
    assert all(f.host == WEB for f in comparison.fixed)
    counted = [f.baseline for f in scans.second.findings]
    assert comparison.new == counted.count(BaselineState.NEW) > 0
    assert comparison.changed == counted.count(BaselineState.CHANGED) > 0
    assert comparison.unchanged == counted.count(BaselineState.UNCHANGED) > 0


def test_the_console_the_markdown_and_the_html_say_it(scans: Scans) -> None:
    comparison = scans.second.baseline
    assert comparison is not None
    day = scans.first.finished[:10]
    moved = (
        f"{comparison.new} new, {comparison.changed} changed, "
        f"{len(comparison.fixed)} fixed since {day}"
    )
    console = scans.run.out + scans.run.err
    assert f"{moved} ({len(comparison.not_rescanned)} not rescanned)" in console
    assert f"**{moved}**" in scans.markdown
    new_table = scans.markdown.split("New since the baseline:")[1].split("\n\n")[1]
    rows = re.findall(r"^\| \w+ \| ([\d.:]+) \| .* \| ([\w-]+) \|$", new_table, re.M)
    assert sorted(rows) == sorted(
        (f"{f.host}:{f.port}" if f.port is not None else f.host, f.rule_id)
        for f in scans.second.findings
        if f.baseline is BaselineState.NEW
    )
    assert (f"{WEB}:8082", "apache-httpd-eol") in rows
    assert "Not rescanned" in scans.markdown
    section = scans.html[scans.html.index('<section id="baseline"') :]
    section = section[: section.index("</section>")]
    assert f"<strong>{comparison.new} new</strong>" in section
    fixed = section.split('id="bl-fixed"')[1].split('id="bl-not-rescanned"')[0]
    assert f"{WEB}:8081/tcp" in fixed
    unknown = section.split('id="bl-not-rescanned"')[1]
    assert f"{DB}:8080/tcp" in unknown
    assert f"{DB}" not in fixed
    for finding in scans.second.findings:
        assert finding.baseline is not None
        state = finding.baseline.value
        article = scans.html[scans.html.index(f'id="f-{finding.fingerprint}"') :]
        assert f'<span class="bl bl-{state}">{state}</span>' in article[: article.index("</h3>")]


def test_diff_of_the_two_saved_results_agrees(scans: Scans) -> None:
    comparison = scans.second.baseline
    assert comparison is not None
    assert scans.diff.code == 0, scans.diff.err
    counts = scans.diff.out.splitlines()[1]
    assert counts == (
        f"{comparison.new} new, {comparison.changed} changed, {comparison.unchanged} unchanged, "
        f"{len(comparison.fixed)} fixed, {len(comparison.not_rescanned)} not rescanned"
    )
    rows = [line.split() for line in scans.diff.out.splitlines()]
    assert sum(r[:1] == ["fixed"] for r in rows) == len(comparison.fixed)
    assert sum(r[:2] == ["not", "rescanned"] for r in rows) == len(comparison.not_rescanned)


def _news_at_or_above(findings: tuple[Finding, ...], floor: Severity) -> list[Finding]:
    return [
        f
        for f in findings
        if f.baseline in (BaselineState.NEW, BaselineState.CHANGED)
        and f.severity.rank >= floor.rank
    ]


def test_fail_on_new_trips_on_what_is_new_and_only_on_that(scans: Scans) -> None:
    tripped = _news_at_or_above(scans.second.findings, Severity.HIGH)
    assert any(f.port == 8082 for f in tripped)
    # The second scan exited 1 (the fixture checks the code); its last line says why.
    assert f"{len(tripped)} finding(s) trip --fail-on-new high" in scans.run.err
    # Against itself every finding is unchanged, so the same gate passes...
    assert scans.again.code == 0, scans.again.err
    assert "0 new, 0 changed, 0 fixed since" in scans.again.err
    # ...though the findings are as severe as before: --fail-on would trip.
    assert any(f.severity.rank >= Severity.HIGH.rank for f in scans.second.findings)


def test_sarif_carries_each_state(scans: Scans) -> None:
    runs = scans.sarif["runs"]
    assert isinstance(runs, list)
    results = runs[0]["results"]
    by_print = {r["partialFingerprints"]["trustscan/v1"]: r for r in results}
    assert set(by_print) == {f.fingerprint for f in scans.second.findings}
    sarif_state = {"new": "new", "changed": "updated", "unchanged": "unchanged"}
    for finding in scans.second.findings:
        assert finding.baseline is not None
        assert by_print[finding.fingerprint]["baselineState"] == sarif_state[finding.baseline]
    comparison = scans.second.baseline
    assert comparison is not None
    counts = runs[0]["properties"]["baseline"]
    assert (counts["fixed"], counts["notRescanned"]) == (
        len(comparison.fixed),
        len(comparison.not_rescanned),
    )


def test_junit_fails_only_the_cases_the_gate_tripped_on(scans: Scans) -> None:
    tripped = _news_at_or_above(scans.second.findings, Severity.HIGH)
    cases = scans.junit.iter("testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == len({(f.rule_id, f.host) for f in tripped}) > 0
    assert int(scans.junit.get("failures", "-1")) == len(failed)
    # A passing case lists its findings in system-out, a failing one in its failure.
    passed = " ".join((c.findtext("system-out") or "") for c in scans.junit.iter("testcase"))
    assert "baseline: unchanged" in passed
    eol = [c for c in failed if c.get("name") == "apache-httpd-eol"]
    assert eol
    assert all("baseline: new" in "".join(c.itertext()) for c in eol)
    assert all(c.get("time") is not None for c in scans.junit.iter("testcase"))
