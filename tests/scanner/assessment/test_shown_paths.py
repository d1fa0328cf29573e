"""The scanning machine's paths, as a report shows them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.assessment.shown_paths import PathView
from scanner.model import (
    AcceptanceCheck,
    Assessment,
    BaselineComparison,
    DataSource,
    NmapRun,
    RunHistory,
)
from tests.factories import make_customer_trust, make_host_at_risk, make_result

VIEW = PathView("/srv/audit", "/home/ana")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("/srv/audit/fixtures/inventory/demo-assets.yaml", "fixtures/inventory/demo-assets.yaml"),
        ("/srv/audit", "."),
        (
            "/home/ana/.local/share/trustscan/history.sqlite",
            "~/.local/share/trustscan/history.sqlite",
        ),
        ("/home/ana", "~"),
        ("/usr/share/nmap/nmap-services", "nmap-services"),
        ("/srv/auditors/x.yaml", "x.yaml"),  # not under /srv/audit
        ("rules", "rules"),  # relative: as given
        ("nmap", "nmap"),
    ],
)
def test_one_path(given: str, shown: str) -> None:
    assert VIEW.path(given) == shown


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("inventory /srv/audit/assets.yaml:51", "inventory assets.yaml:51"),
        ("nmap -sV -oX /tmp/r/x.xml 10.0.0.0/24", "nmap -sV -oX x.xml 10.0.0.0/24"),
        ("as /usr/share/nmap/nmap-services ranks them", "as nmap-services ranks them"),
        (
            "postgresql://scan@db.example.test:5432/history",
            "postgresql://scan@db.example.test:5432/history",
        ),
        ("tcp://10.0.0.1:8786", "tcp://10.0.0.1:8786"),
        ("GET /: refused", "GET /: refused"),
        ("1/2 of 10.1.0.0/16", "1/2 of 10.1.0.0/16"),
    ],
)
def test_paths_inside_text(given: str, shown: str) -> None:
    assert VIEW.text(given) == shown


def test_a_root_or_one_level_directory_is_no_base() -> None:
    """Relative to `/` every path would show in full."""
    assert PathView("/", "/root").path("/etc/trustscan/rules") == "rules"


def test_every_path_of_a_result_is_shown() -> None:
    trust = make_customer_trust(
        hosts=(make_host_at_risk(sources=("inventory /srv/audit/assets.yaml:3",)),)
    )
    result = replace(
        make_result(),
        nmap=NmapRun("7.93", ("nmap -oX /tmp/scan.xml 10.0.0.1",), "/home/ana/scans/lab.xml"),
        rule_sources=("/srv/audit/rules", "/opt/trustscan/rules"),
        port_choice="nmap's top ports, as /usr/share/nmap/nmap-services ranks them",
        data_sources=(DataSource("KEV", "2025-08-25", "all", "import /data/kev.json"),),
        assessment=Assessment(inventory_source="/srv/audit/assets.yaml", trust=trust),
        baseline=BaselineComparison(source="/var/lib/nightly/last.json", taken=""),
        acceptance=AcceptanceCheck(
            "/home/ana/.trustscan-accept.yaml", "2026-12-01", stale=("/home/ana/a.yaml:4 x",)
        ),
        history=RunHistory(
            store="/home/ana/.local/share/trustscan/history.sqlite", scope="s", run=2
        ),
    )
    shown = VIEW.result(result)
    assert shown.nmap.source == "~/scans/lab.xml"
    assert shown.nmap.commands == ("nmap -oX scan.xml 10.0.0.1",)
    assert shown.rule_sources == ("rules", "rules")
    assert shown.port_choice.endswith("as nmap-services ranks them")
    assert shown.data_sources[0].update == "import kev.json"
    assert shown.assessment is not None
    assert shown.assessment.inventory_source == "assets.yaml"
    assert shown.assessment.trust.hosts[0].sources == ("inventory assets.yaml:3",)
    assert shown.baseline is not None
    assert shown.baseline.source == "last.json"
    assert shown.acceptance is not None
    assert shown.acceptance.source == "~/.trustscan-accept.yaml"
    assert shown.acceptance.stale == ("~/a.yaml:4 x",)
    assert shown.history is not None
    assert shown.history.store == "~/.local/share/trustscan/history.sqlite"
    assert shown.findings == result.findings  # nothing in them is a path of ours
