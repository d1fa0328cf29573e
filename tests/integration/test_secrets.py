"""No password in anything a scan leaves behind, end to end: the trustscan CLI
with real nmap against the password-protected PostgreSQL and MariaDB of
tests/datastores.py and a hostile MySQL that quotes the password back in its
access denied (tests/scanner/probes/sql_peers.py), with a credentials file
that holds the right passwords, then wrong ones. Every output format, the
console and the checkpoint (`result.json.partial`, read while the scan runs)
are searched for each password, as it is and in the forms a format or a
server may write it: zero hits."""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from fixtures.datastores.servers import PORTS
from tests.datastores import Stores, StoreServer
from tests.scanner.probes.peers import fake
from tests.scanner.probes.sql_peers import FakeMySQL
from tests.support import requires_nmap, scan_to_every_format

pytestmark = [pytest.mark.integration, requires_nmap]

HOSTILE_USER = "auditor"


def _forms(password: str) -> set[str]:
    """The password as it is, and as an output format or a server may write it."""
    raw = password.encode()
    return {
        password,
        quote(password, safe=""),
        quote_plus(password),
        json.dumps(password)[1:-1],
        json.dumps(password, ensure_ascii=False)[1:-1],
        html.escape(password),
        html.escape(password, quote=False),
        raw.hex(),
        base64.b64encode(raw).decode().rstrip("="),
    }


def _write_credentials(path: Path, entries: list[tuple[str, str, str, str]]) -> None:
    lines = ["credentials:"]
    for store, host, username, password in entries:
        lines += [
            f"  - store: {store}",
            f"    host: {host}",
            f"    username: {json.dumps(username)}",
            f"    password: {json.dumps(password)}",  # JSON's strings are YAML's too
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


@contextmanager
def _checkpoint_snapshots(result: Path) -> Iterator[list[bytes]]:
    """Every version of the checkpoint beside `result` seen while the block runs
    (the scan deletes it once the result is written)."""
    partial = result.with_name(result.name + ".partial")
    seen: list[bytes] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            try:
                content = partial.read_bytes()
            except OSError:
                continue
            if content and (not seen or seen[-1] != content):
                seen.append(content)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join(timeout=5)
        if partial.exists():  # one left behind counts too
            seen.append(partial.read_bytes())


def _scan(
    directory: Path, stores: list[StoreServer], hostile_at: tuple[str, int, str], wrong: bool
) -> tuple[dict[str, Any], dict[str, bytes], set[str]]:
    """Scan the stores and the hostile MySQL (address, port, password) with
    the right (or wrong) passwords: the result, every file and checkpoint to
    search, and the passwords given."""
    given = {s.kind: ("wrong-" + s.password if wrong else s.password) for s in stores}
    hostile_address, hostile_port, hostile = hostile_at
    credentials = directory / "credentials.yaml"
    _write_credentials(
        credentials,
        [(s.kind, s.address, s.username, given[s.kind]) for s in stores]
        + [("mysql", hostile_address, HOSTILE_USER, hostile)],
    )
    out = directory / "out"
    out.mkdir()
    ports = ",".join(str(p) for p in (PORTS["postgresql"], PORTS["mysql"], hostile_port))
    with _checkpoint_snapshots(out / "result.json") as snapshots:
        result, written = scan_to_every_format(
            out,
            *(s.address for s in stores),
            hostile_address,
            "-p",
            ports,
            "--nmap-arg=--version-intensity=2",
            "--inspect-data",
            "--credentials",
            str(credentials),
        )
    searched = {path.name: path.read_bytes() for path in written}
    searched |= {f"checkpoint#{n}": content for n, content in enumerate(snapshots)}
    return result, searched, {*given.values(), hostile}


def _facts(result: dict[str, Any], address: str) -> dict[str, str]:
    return {
        o["key"]: o["value"]
        for o in result["observations"]
        if o["host"] == address and o["probe"] == "datastore"
    }


def _leaks(searched: dict[str, bytes], passwords: set[str]) -> list[str]:
    forms = {form for password in passwords for form in _forms(password)}
    return sorted(
        f"{name} holds a password ({len(form)} characters)"
        for name, content in searched.items()
        for form in forms
        if form.encode() in content
    )


@pytest.mark.parametrize("wrong", [False, True], ids=["right-passwords", "wrong-passwords"])
def test_no_output_holds_a_password(stores: Stores, tmp_path: Path, wrong: bool) -> None:
    stores.start(["postgresql", "mysql"])
    servers = [stores.get("postgresql", "password"), stores.get("mysql", "password")]
    # Quotes, markup and a space, which each format escapes its own way; the
    # random part is searched for on its own too, however the rest was escaped.
    core = secrets.token_urlsafe(12)
    password = f"Tr0ub4dor&3 'x' \"y\" <z> {core}"
    # The hostile server quotes back the password the credentials file holds for it.
    with fake(FakeMySQL(knows=password)) as peer:
        hostile_at = (peer.address, peer.port, password)
        result, searched, passwords = _scan(tmp_path, servers, hostile_at, wrong)
        hostile_facts = _facts(result, peer.address)
    assert {"report.html", "result.json", "result.sarif", "result.junit.xml"} <= set(searched)
    assert {"summary.md", "console.txt"} <= set(searched)
    assert any(name.startswith("checkpoint#") for name in searched)  # read while it existed
    leaks = _leaks(searched, passwords | {core})
    assert leaks == [], "; ".join(leaks)
    expected = "required" if wrong else "supplied-credentials"
    for server in servers:
        assert _facts(result, server.address)["store.auth"] == expected
    # The hostile server was reached and did quote the password: blanked.
    assert hostile_facts["store.auth"] == "required"
    hostile_said = next(
        o["evidence"]
        for o in result["observations"]
        if o["host"] == peer.address and o["key"] == "store.auth"
    )
    assert f"user {HOSTILE_USER}: 1045: Access denied" in hostile_said
    assert "you sent '***'" in hostile_said


def test_the_password_search_can_fail() -> None:
    password = 'p@ss "w" <rd>'  # noqa: S105  # planted, to be found
    for form in _forms(password):
        assert _leaks({"planted": f"xx{form}xx".encode()}, {password}) != []
