"""A scan as a new user runs it, without -p, finds the exposed data stores.

nmap's 1,000 most common ports leave out Redis (6379), Memcached (11211) and
MongoDB (27017); trustscan's default adds them (rules/ports.yaml). Real open
Redis, Memcached, PostgreSQL and MariaDB servers (tests/datastores.py, on
127.0.40.x at their standard ports) and the MongoDB replay peer (recorded
mongod replies, on 127.0.50.40:27017) are scanned by the CLI with no port
option at all, and every store must be found with its findings.

nmap does not name the MongoDB replay by its probe (nmap's MongoDB probe is
a legacy OP_QUERY, which the replay, like a mongod from 6.0 on, does not
answer); it names the port from its table, `mongod`, which the MongoDB probe
handles like nmap's own name for it.

Nothing here is timed: nmap's and the probes' own time budgets apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from scanner.discovery.ports import parse_ports
from tests.datastores import Stores, StoreServer
from tests.scanner.probes.replay import MongoReplay, mongodb
from tests.support import requires_nmap, scan_to_every_format

pytestmark = [pytest.mark.integration, requires_nmap]

MONGO_ADDRESS = "127.0.50.40"  # the replay tests use .1-.22
MONGO_PORT = 27017
KINDS = ("redis", "memcached", "postgresql", "mysql")
DEFAULT = re.compile(
    r"^nmap's 1,000 most common TCP ports, \d+ data-store and administration ports "
    r"from rules/ports\.yaml \(\d+ of them beyond nmap's list\): [\d,]+ TCP ports$"
)


@dataclass(frozen=True)
class DefaultScan:
    result: dict[str, Any]
    files: dict[str, str]  # name -> text of every file the scan wrote

    def services(self, address: str) -> dict[int, dict[str, Any]]:
        host = next(h for h in self.result["hosts"] if h["address"] == address)
        return {s["port"]: s for s in host["services"]}

    def findings(self, address: str, port: int) -> dict[str, dict[str, Any]]:
        return {
            f["rule_id"]: f
            for f in self.result["findings"]
            if f["host"] == address and f["port"] == port
        }

    def facts(self, address: str, port: int) -> dict[str, str]:
        return {
            o["key"]: o["value"]
            for o in self.result["observations"]
            if o["host"] == address and o["port"] == port and o["probe"] == "datastore"
        }


@pytest.fixture(scope="module")
def mongo() -> Iterator[MongoReplay]:
    with mongodb(MONGO_ADDRESS, port=MONGO_PORT) as server:
        yield server


@pytest.fixture(scope="module")
def open_stores(stores: Stores) -> dict[str, StoreServer]:
    stores.start(KINDS)
    return {kind: stores.get(kind, "open") for kind in KINDS}


@pytest.fixture(scope="module")
def default_scan(
    open_stores: dict[str, StoreServer],
    mongo: MongoReplay,
    tmp_path_factory: pytest.TempPathFactory,
) -> DefaultScan:
    directory = tmp_path_factory.mktemp("default-ports")
    addresses = [server.address for server in open_stores.values()]
    # No -p, no --extra-ports, no nmap option: the command a new user types.
    result, written = scan_to_every_format(directory, *addresses, MONGO_ADDRESS)
    files = {path.name: path.read_text(encoding="utf-8") for path in written}
    return DefaultScan(result, files)


def test_the_default_scan_gives_nmap_the_stores_ports(default_scan: DefaultScan) -> None:
    commands = default_scan.result["nmap"]["commands"]
    assert commands
    for command in commands:
        assert "--top-ports" not in command
        ports = parse_ports(re.search(r" -p (\S+) ", command)[1], "-p")  # type: ignore[index]
        assert {22, 80, 443, 6379, 11211, 27017, 9200, 2375} <= ports
        assert len(ports) > 1000


def test_open_redis_is_found_with_its_findings(
    default_scan: DefaultScan, open_stores: dict[str, StoreServer]
) -> None:
    redis = open_stores["redis"]
    assert redis.port == 6379  # outside nmap's top 1,000
    assert default_scan.services(redis.address)[6379]["name"] == "redis"
    assert default_scan.facts(redis.address, 6379)["store.auth"] == "none"
    findings = default_scan.findings(redis.address, 6379)
    assert "datastore-reachable" in findings
    assert "datastore-no-tls" in findings
    assert "datastore-open-contact-data" in findings


def test_open_memcached_is_found_with_its_findings(
    default_scan: DefaultScan, open_stores: dict[str, StoreServer]
) -> None:
    memcached = open_stores["memcached"]
    assert memcached.port == 11211  # outside nmap's top 1,000
    assert default_scan.services(memcached.address)[11211]["name"] in ("memcache", "memcached")
    assert default_scan.facts(memcached.address, 11211)["store.auth"] == "none"
    findings = default_scan.findings(memcached.address, 11211)
    assert "datastore-reachable" in findings
    assert "datastore-open-contact-data" in findings


@pytest.mark.parametrize(("kind", "port"), [("postgresql", 5432), ("mysql", 3306)])
def test_open_sql_stores_are_found_with_their_findings(
    default_scan: DefaultScan, open_stores: dict[str, StoreServer], kind: str, port: int
) -> None:
    server = open_stores[kind]
    assert server.port == port
    assert port in default_scan.services(server.address)
    assert default_scan.facts(server.address, port)["store.auth"] == "none"
    findings = default_scan.findings(server.address, port)
    assert "datastore-reachable" in findings
    assert "datastore-open-card-data" in findings


def test_the_mongodb_replay_on_27017_is_found_and_probed(default_scan: DefaultScan) -> None:
    service = default_scan.services(MONGO_ADDRESS)[MONGO_PORT]
    # Named from nmap's port table: the replay does not answer nmap's probe.
    assert service["name"] in ("mongod", "mongodb")
    facts = default_scan.facts(MONGO_ADDRESS, MONGO_PORT)
    assert facts["store.auth"] == "none"
    assert facts["store.personal_data"] == "yes"
    findings = default_scan.findings(MONGO_ADDRESS, MONGO_PORT)
    assert "datastore-reachable" in findings
    assert "datastore-open-contact-data" in findings


def test_every_report_says_which_ports_were_scanned(default_scan: DefaultScan) -> None:
    choice = default_scan.result["port_choice"]
    assert DEFAULT.match(choice), choice
    saved = json.loads(default_scan.files["result.json"])
    assert saved["port_choice"] == choice
    html = default_scan.files["report.html"]
    appendix = html[html.index('<section id="appendix"') :]
    shown = choice.replace("'", "&#39;")  # as the template escapes it
    assert f"<dt>Ports</dt><dd>{shown}</dd>" in appendix
    summary = default_scan.files["summary.md"]
    assert f"Ports scanned: {choice}." in summary.splitlines()
