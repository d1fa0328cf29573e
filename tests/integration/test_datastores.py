"""Data stores end to end: real PostgreSQL, MariaDB, Redis and Memcached servers
seeded with fake customers (tests/datastores.py), scanned by the trustscan CLI
with real nmap. Each kind runs open, behind a password and with TLS.

Three scans serve every test: all twelve stores with `--inspect-data`; the
password-protected SQL and Redis stores again with a credentials file; the
open ones without `--inspect-data`. nmap's version detection is the slow
part: a Memcached that demands a login answers none of its probes, and at
nmap's default intensity it waits out every one of them (160 s); intensity 2
still names every store here. The tests
assert the findings, the record counts, and that no raw value of the seeded
data and no password appears in any file a scan wrote.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.datastores.customers import raw_values
from fixtures.datastores.servers import KINDS, PORTS, VARIANTS
from tests.datastores import Stores, StoreServer
from tests.support import requires_nmap, scan_to_every_format

pytestmark = [pytest.mark.integration, requires_nmap]

SEEDED_CUSTOMERS = 250
# A column name as a hostile database owner might choose it: markup, both
# quotes and a terminal escape. It names an email column, so the probes list it.
HOSTILE_COLUMN = "<script>alert('x')</script>\"email\x1b[31m"
SQL_AND_REDIS = ["postgresql", "mysql", "redis"]
ALL_PORTS = ",".join(str(PORTS[k]) for k in KINDS)


@dataclass(frozen=True)
class Scan:
    result: dict[str, Any]
    files: tuple[Path, ...]
    secrets: frozenset[str]  # passwords the scan may have been given

    def facts(self, server: StoreServer) -> dict[str, str]:
        return {
            o["key"]: o["value"]
            for o in self.result["observations"]
            if o["host"] == server.address
            and o["port"] == server.port
            and o["probe"] == "datastore"
        }

    def evidence(self, server: StoreServer, key: str) -> str:
        """The evidence of the first observation `key` on the server's address."""
        return next(
            str(o["evidence"])
            for o in self.result["observations"]
            if o["host"] == server.address and o["key"] == key
        )

    def findings(self, server: StoreServer) -> dict[str, dict[str, Any]]:
        return {
            f["rule_id"]: f
            for f in self.result["findings"]
            if f["host"] == server.address and f["port"] == server.port
        }


def _servers(
    stores: Stores, variants: list[str], kinds: tuple[str, ...] | list[str] = KINDS
) -> list[StoreServer]:
    stores.start(kinds)
    return [stores.get(kind, variant) for kind in kinds for variant in variants]


def _credentials(path: Path, servers: list[StoreServer]) -> None:
    lines = ["credentials:"]
    for server in servers:
        lines += [
            f"  - store: {server.kind}",
            f"    host: {server.address}",
            f"    username: {json.dumps(server.username)}",
            f"    password: {json.dumps(server.password)}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def _scan(directory: Path, servers: list[StoreServer], *options: str) -> Scan:
    directory.mkdir(parents=True)
    result, written = scan_to_every_format(
        directory,
        *(s.address for s in servers),
        "-p",
        ALL_PORTS,
        "--nmap-arg=--version-intensity=2",
        *options,
    )
    files = tuple(p for p in written if p.name != "credentials.yaml")
    passwords = frozenset(s.password for s in servers if s.password)
    return Scan(result, files, passwords)


def _add_hostile_tables(stores: Stores) -> None:
    """A table `leads` with HOSTILE_COLUMN in the open PostgreSQL and MariaDB."""
    import psycopg
    import pymysql
    from psycopg import sql

    stores.start(["postgresql", "mysql"])
    pg = stores.get("postgresql", "open")
    with psycopg.connect(
        host=pg.address, port=pg.port, user=pg.username, dbname="shop", sslmode="disable"
    ) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS leads ({} TEXT)").format(
                sql.Identifier(HOSTILE_COLUMN)
            )
        )
        conn.execute("INSERT INTO leads VALUES ('lead@example.invalid')")
    my = stores.get("mysql", "open")
    maria = pymysql.connect(
        host=my.address,
        port=my.port,
        user=my.username,
        password="",
        database="shop",
        ssl_disabled=True,
    )
    try:
        with maria.cursor() as cursor:
            # Backticks quote a MariaDB identifier; the name holds none.
            cursor.execute(f"CREATE TABLE IF NOT EXISTS leads (`{HOSTILE_COLUMN}` TEXT)")
            cursor.execute("INSERT INTO leads VALUES ('lead@example.invalid')")
        maria.commit()
    finally:
        maria.close()


@pytest.fixture(scope="module")
def inspected(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    """Every store, values sampled, no credentials; the open SQL stores hold a
    table with a hostile column name."""
    _add_hostile_tables(stores)
    directory = tmp_path_factory.mktemp("datastores") / "inspected"
    return _scan(directory, _servers(stores, list(VARIANTS)), "--inspect-data")


@pytest.fixture(scope="module")
def with_credentials(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    """The password-protected stores, read with a credentials file."""
    directory = tmp_path_factory.mktemp("datastores") / "credentials"
    servers = _servers(stores, ["password"], SQL_AND_REDIS)
    directory.mkdir(parents=True)
    _credentials(directory / "credentials.yaml", servers)
    scan = _scan(
        directory / "out",
        servers,
        "--inspect-data",
        "--credentials",
        str(directory / "credentials.yaml"),
    )
    return scan


@pytest.fixture(scope="module")
def names_only(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    """The open stores without --inspect-data: names, never values."""
    directory = tmp_path_factory.mktemp("datastores") / "names"
    return _scan(directory, _servers(stores, ["open"]))


def _assert_nothing_raw(scan: Scan) -> None:
    """No seeded personal value and no password in any file the scan wrote."""
    secrets = {s for s in raw_values() if len(s) >= 4} | set(scan.secrets)
    for path in scan.files:
        text = path.read_text(encoding="utf-8", errors="replace")
        leaked = sorted(s for s in secrets if s in text)
        assert leaked == [], f"{path.name} holds raw values: {len(leaked)} of them"


def test_no_output_holds_a_raw_value_or_a_password(
    inspected: Scan, with_credentials: Scan, names_only: Scan
) -> None:
    for scan in (inspected, with_credentials, names_only):
        assert len(scan.files) == 6  # JSON, HTML, SARIF, JUnit, Markdown and the console
        _assert_nothing_raw(scan)


def _strings(node: object) -> list[str]:
    """Every string value in a parsed JSON document."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_a_hostile_column_name_is_inert_in_every_format(inspected: Scan) -> None:
    """The name reaches each output that shows evidence, escaped for that format."""
    raw = HOSTILE_COLUMN
    files = {p.name: p.read_text(encoding="utf-8") for p in inspected.files}
    for name in ("result.json", "result.sarif"):
        text = files[name]
        assert "\x1b" not in text, name  # JSON writes the escape as \u001b
        assert any(raw in value for value in _strings(json.loads(text))), name
    for name in ("report.html", "result.junit.xml", "summary.md", "console.txt"):
        text = files[name]
        assert "<script>alert" not in text, name
        assert "\x1b" not in text, name
    escaped = "&lt;script&gt;alert("
    assert escaped in files["report.html"]
    assert escaped in files["result.junit.xml"]


def test_the_leak_check_can_fail(inspected: Scan, tmp_path: Path) -> None:
    planted = tmp_path / "leak.txt"
    planted.write_text(sorted(raw_values())[0], encoding="utf-8")
    with pytest.raises(AssertionError, match="holds raw values"):
        _assert_nothing_raw(Scan(inspected.result, (planted,), frozenset()))


@pytest.mark.parametrize("kind", SQL_AND_REDIS)
def test_open_store_with_customers(stores: Stores, inspected: Scan, kind: str) -> None:
    server = stores.get(kind, "open")
    facts = inspected.facts(server)
    assert facts["store.auth"] == "none"
    assert facts["store.personal_data"] == "yes"
    assert int(facts["store.pii.email"]) >= SEEDED_CUSTOMERS
    assert int(facts["store.pii.card-number"]) >= SEEDED_CUSTOMERS
    assert facts["store.password_storage"] == "plaintext"
    assert int(facts["store.card_numbers_plaintext"]) >= 1
    findings = inspected.findings(server)
    assert findings["datastore-open-card-data"]["severity"] == "critical"
    assert findings["datastore-plaintext-passwords"]["severity"] == "critical"
    assert findings["datastore-open-contact-data"]["severity"] == "high"
    assert findings["datastore-card-numbers-unencrypted"]["severity"] == "high"
    assert "datastore-open-no-personal-data" not in findings
    # What was sampled is shown, masked: the reader sees the kind of data, not the data.
    if kind in ("postgresql", "mysql"):  # the SQL stores keep US customers' SSNs
        assert int(facts["store.pii.national-id"]) >= SEEDED_CUSTOMERS
        assert findings["datastore-open-national-ids"]["severity"] == "critical"
    assert re.search(
        r"\w\*\*\*@example\.(com|org|net)", inspected.evidence(server, "store.pii.email")
    )
    cards = inspected.evidence(server, "store.pii.card-number")
    assert re.search(r"\*\*\*\* \*\*\*\* \*\*\*\* \d{4}", cards), cards


def test_sql_record_counts_come_from_the_stores_statistics(stores: Stores, inspected: Scan) -> None:
    for kind in ("postgresql", "mysql"):
        server = stores.get(kind, "open")
        records = inspected.evidence(server, "store.personal_data")
        assert "customers: ~250 records" in records, records
        # orders and products hold no personal data: they are not listed as such.
        assert "orders:" not in records


@pytest.mark.parametrize("kind", SQL_AND_REDIS)
def test_open_store_without_inspecting_values(stores: Stores, names_only: Scan, kind: str) -> None:
    server = stores.get(kind, "open")
    facts = names_only.facts(server)
    # Names alone find the categories; only sampled values judge their form.
    assert int(facts["store.pii.card-number"]) >= SEEDED_CUSTOMERS
    assert "store.password_storage" not in facts
    assert "store.card_numbers_plaintext" not in facts
    assert "datastore-open-card-data" in names_only.findings(server)


@pytest.mark.parametrize("kind", KINDS)
def test_password_store_is_closed_without_credentials(
    stores: Stores, inspected: Scan, kind: str
) -> None:
    server = stores.get(kind, "password")
    facts = inspected.facts(server)
    assert facts["store.auth"] == "required"
    assert "store.personal_data" not in facts
    assert not any(rule.startswith("datastore-open") for rule in inspected.findings(server))


@pytest.mark.parametrize("kind", SQL_AND_REDIS)
def test_password_store_read_with_supplied_credentials(
    stores: Stores, with_credentials: Scan, kind: str
) -> None:
    server = stores.get(kind, "password")
    facts = with_credentials.facts(server)
    assert facts["store.auth"] == "supplied-credentials"
    assert int(facts["store.pii.email"]) >= SEEDED_CUSTOMERS
    findings = with_credentials.findings(server)
    assert "datastore-open-card-data" not in findings
    assert findings["datastore-plaintext-passwords"]["severity"] == "critical"
    assert "from your credentials file" in with_credentials.evidence(server, "store.auth")


@pytest.mark.parametrize("kind", KINDS)
def test_tls_store_refuses_plaintext(stores: Stores, inspected: Scan, kind: str) -> None:
    server = stores.get(kind, "tls")
    facts = inspected.facts(server)
    assert facts["store.tls_offered"] == "yes"
    assert facts["store.plaintext_allowed"] == "no"
    findings = inspected.findings(server)
    assert "datastore-no-tls" not in findings
    assert "datastore-plaintext-allowed" not in findings


@pytest.mark.parametrize("kind", KINDS)
def test_open_store_speaks_plaintext_only(stores: Stores, inspected: Scan, kind: str) -> None:
    server = stores.get(kind, "open")
    facts = inspected.facts(server)
    assert facts["store.tls_offered"] == "no"
    assert facts["store.plaintext_allowed"] == "yes"
    assert inspected.findings(server)["datastore-no-tls"]["severity"] == "high"


def test_memcached_open_cache(stores: Stores, inspected: Scan) -> None:
    server = stores.get("memcached", "open")
    facts = inspected.facts(server)
    assert facts["store.auth"] == "none"
    assert facts["store.personal_data"] == "yes"
    assert int(facts["store.pii.email"]) >= 50
    assert "datastore-open-contact-data" in inspected.findings(server)
