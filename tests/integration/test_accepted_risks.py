"""Accepted risks end to end: the lab's two outdated Apaches scanned with real
nmap by the trustscan CLI, with an inventory and an accepted-risks file.

One entry accepts every finding of the CentOS box by its inventory system
name, one accepts the Apache 2.4.49 box by its address until a day that
`--today` decides, one names a host nothing runs on. The marks are in the
JSON result; the exit code shows the gate (`scanner.outputs.gate`) skipping
accepted findings and counting expired ones again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.lab.servers import Lab
from tests.support import EMPTY_HOST, Run, requires_nmap, trustscan

pytestmark = [pytest.mark.integration, requires_nmap]

EXPIRES = "2026-06-30"  # the Apache 2.4.49 entry's last day


def _files(tmp_path: Path, lab: Lab) -> tuple[Path, Path]:
    centos = lab.address_of("centos6-apache").address
    apache = lab.address_of("apache-2.4.49").address
    inventory = tmp_path / "assets.yaml"
    inventory.write_text(
        "assets:\n"
        "  - system: legacy-billing\n"
        f"    address: {centos}\n"
        "    owner: billing@example.test\n",
        encoding="utf-8",
    )
    accept = tmp_path / "accepted.yaml"
    accept.write_text(
        "accepted:\n"
        "  - rule: '*'\n"
        "    host: legacy-billing\n"  # the inventory's system name
        "    reason: isolated until the billing export moves\n"
        "    owner: billing@example.test\n"
        "    expires: 2027-03-31\n"
        "  - rule: '*'\n"
        f"    host: {apache}\n"
        "    reason: replaced next sprint\n"
        "    owner: web@example.test\n"
        f"    expires: {EXPIRES}\n"
        "  - rule: web-server-status-exposed\n"  # nothing runs there
        f"    host: {EMPTY_HOST}\n"
        "    reason: staging only\n"
        "    owner: security@example.test\n"
        "    expires: 2027-03-31\n",
        encoding="utf-8",
    )
    return inventory, accept


def _scan(lab: Lab, out: Path, *args: str) -> tuple[Run, dict[str, Any]]:
    centos = lab.address_of("centos6-apache")
    apache = lab.address_of("apache-2.4.49")
    ports = ",".join(sorted({str(centos.port), str(apache.port)}))
    run = trustscan(
        "scan", centos.address, apache.address, "-p", ports, "--json", str(out),
        # A probe that failed would make the exit 4: the gate is what is tested here.
        "--fail-on", "info", "--allow-incomplete", *args,
    )  # fmt: skip
    assert out.exists(), run.err
    return run, json.loads(out.read_text(encoding="utf-8"))


def _by_host(result: dict[str, Any], address: str) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["host"] == address]


@dataclass(frozen=True)
class Scans:
    accept: Path
    plain: tuple[Run, dict[str, Any]]  # without the file
    valid: tuple[Run, dict[str, Any]]  # on a day both entries count
    expired: tuple[Run, dict[str, Any]]  # on a day the 2.4.49 entry has expired


@pytest.fixture(scope="module")
def scans(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Scans:
    tmp_path = tmp_path_factory.mktemp("accepted")
    inventory, accept = _files(tmp_path, lab)
    common = ("--inventory", str(inventory), "--accept", str(accept))
    return Scans(
        accept=accept,
        plain=_scan(lab, tmp_path / "plain.json", "--inventory", str(inventory)),
        valid=_scan(lab, tmp_path / "valid.json", *common, "--today", EXPIRES),
        expired=_scan(lab, tmp_path / "expired.json", *common, "--today", "2026-07-01"),
    )


def test_the_lab_findings_trip_the_gate_without_the_file(scans: Scans, lab: Lab) -> None:
    run, result = scans.plain
    assert run.code == 1, run.err
    for name in ("centos6-apache", "apache-2.4.49"):
        assert _by_host(result, lab.address_of(name).address), name
    assert all(f["accepted"] is None for f in result["findings"])


def test_accepted_findings_are_marked_and_do_not_trip_the_gate(scans: Scans, lab: Lab) -> None:
    accept = scans.accept
    run, result = scans.valid
    assert run.code == 0, run.err
    plain = scans.plain[1]
    # Every finding is still reported, each one marked.
    assert len(result["findings"]) == len(plain["findings"])
    centos = _by_host(result, lab.address_of("centos6-apache").address)
    assert {f["rule_id"] for f in centos} >= {"apache-httpd-eol"}
    for finding in centos:
        assert finding["accepted"] == {
            "owner": "billing@example.test",
            "expires": "2027-03-31",
            "reason": "isolated until the billing export moves",
            "source": f"{accept}:2",
            "expired": False,
        }
    for finding in _by_host(result, lab.address_of("apache-2.4.49").address):
        assert finding["accepted"]["source"] == f"{accept}:7"
        assert finding["accepted"]["expired"] is False
    check = result["acceptance"]
    assert check["checked_on"] == EXPIRES
    assert check["accepted"] == len(result["findings"])
    assert check["expired"] == []
    assert check["stale"] == [f"{accept}:12: rule web-server-status-exposed, host {EMPTY_HOST}"]


def test_an_acceptance_expired_by_today_stops_counting(scans: Scans, lab: Lab) -> None:
    accept = scans.accept
    run, result = scans.expired
    assert run.code == 1, run.err
    apache = lab.address_of("apache-2.4.49").address
    expired = _by_host(result, apache)
    assert expired
    assert all(f["accepted"]["expired"] is True for f in expired)
    assert all(
        f["accepted"]["expired"] is False
        for f in _by_host(result, lab.address_of("centos6-apache").address)
    )
    check = result["acceptance"]
    assert check["accepted"] == len(result["findings"]) - len(expired)
    assert check["expired"] == [f"{accept}:7: rule *, host {apache}; expired after {EXPIRES}"]
    assert f"trustscan: warning: accepted risk expired: {accept}:7: " in run.err
    # Only the findings whose acceptance expired trip the gate.
    assert f"{len(expired)} finding(s) trip --fail-on info" in run.err
