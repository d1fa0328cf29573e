"""The Memcached probe: its bounded ASCII client on canned bytes, and hostile
and scripted peers on loopback. The real servers are in
test_key_value_servers.py."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from scanner.model import Service
from scanner.probes.clients.memcached import Item, McClient, McError, list_keys, metadump_item
from scanner.probes.clients.wire import Deadline
from scanner.probes.context import ProbeContext
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.memcached import SPEC, report
from scanner.probes.datastores.report import Auth, Tristate
from tests.scanner.probes.outcomes import (
    assert_kept_out,
    report_text,
)
from tests.scanner.probes.peers import Handler, each_hostile_peer, fake, timed_report

SECRET = "Sup3r-S3cret-pw!"  # noqa: S105  # a password no fake may let out


# --- the client on canned bytes ---------------------------------------------------


@contextmanager
def canned(
    reply: bytes, *, timeout: float = 1.0, budget: float = 10.0, line_cap: int = 2048
) -> Iterator[tuple[McClient, socket.socket]]:
    """A client whose peer has already sent `reply` (and stays open)."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(reply)
        yield McClient(ours, Deadline.after(budget), timeout, line_cap), theirs


def test_lines_end_with_crlf_or_a_bare_newline() -> None:
    with canned(b"VERSION 1.6.18\r\nkey=a%3A1 size=70\nEND\r\n") as (client, _):
        assert client.line() == b"VERSION 1.6.18"
        assert client.line() == b"key=a%3A1 size=70"
        assert client.line() == b"END"


def test_a_line_longer_than_the_cap_is_refused_without_reading_on() -> None:
    with canned(b"x" * 5000, line_cap=100) as (client, _), pytest.raises(McError) as raised:
        client.line()
    assert raised.value.reason == "a reply line over 100 bytes"


def test_a_silent_peer_times_out_on_the_read_timeout() -> None:
    with canned(b"", timeout=0.2) as (client, _):
        started = time.monotonic()
        with pytest.raises(McError) as raised:
            client.line()
    assert raised.value.reason == "timed out"
    assert time.monotonic() - started < 1.0


def test_a_slow_peer_is_cut_off_by_the_deadline() -> None:
    with canned(b"", timeout=1.0, budget=0.6) as (client, theirs):

        def drip() -> None:
            # One byte inside every per-read timeout, never a whole line.
            for _ in range(20):
                try:
                    theirs.sendall(b"x")
                except OSError:
                    return
                time.sleep(0.1)

        threading.Thread(target=drip, daemon=True).start()
        started = time.monotonic()
        with pytest.raises(McError) as raised:
            client.line()
    assert raised.value.reason in ("the time budget ran out", "timed out")
    assert time.monotonic() - started < 1.2


def test_a_closed_connection_is_an_error_not_an_empty_line() -> None:
    ours, theirs = socket.socketpair()
    theirs.sendall(b"VERS")
    theirs.close()
    with ours, pytest.raises(McError) as raised:
        McClient(ours, Deadline.after(5), 1.0).line()
    assert raised.value.reason == "connection closed"


def test_stats_are_read_to_end() -> None:
    reply = b"STAT pid 7\r\nSTAT curr_items 120\r\nSTAT version 1.6.18\r\nEND\r\n"
    with canned(reply) as (client, _):
        assert client.stats(65536)["curr_items"] == "120"


def test_garbage_where_stats_should_be_is_an_error() -> None:
    with canned(b"\x16\x03\x01\x00\xffhello\r\n") as (client, _), pytest.raises(McError) as raised:
        client.stats(65536)
    assert raised.value.reason.startswith("stats answered ")
    assert "\x16" not in raised.value.reason


def test_endless_stats_stop_at_the_bound() -> None:
    with canned(b"STAT x 1\r\n" * 400) as (client, _), pytest.raises(McError) as raised:
        client.stats(65536)
    assert raised.value.reason == "stats sent more than 300 lines or 65,536 bytes"


def test_get_reads_values_and_refuses_an_oversized_one() -> None:
    reply = b"VALUE user:1:email 0 15\r\nada@example.com\r\nEND\r\n"
    with canned(reply) as (client, _):
        assert client.get_many([b"user:1:email"], 1024) == {b"user:1:email": b"ada@example.com"}
    oversized = b"VALUE big 0 10000000\r\n" + b"x" * 100
    with canned(oversized) as (client, _), pytest.raises(McError) as raised:
        client.get_many([b"big"], 1024)
    assert raised.value.reason == "a value of 10,000,000 bytes (over 1,024)"


def test_metadump_keys_are_url_decoded() -> None:
    line = b"key=user%3A1%3Aemail exp=-1 la=1795610917 cas=1 fetch=no cls=1 size=88"
    assert metadump_item(line) == Item(b"user:1:email", 88)
    assert metadump_item(b"garbage") is None


def test_metadump_stops_at_the_key_limit() -> None:
    lines = b"".join(b"key=page%%3A%d exp=-1 size=70\n" % n for n in range(50)) + b"END\r\n"
    with canned(lines) as (client, _):
        listing = list_keys(client, 10)
    assert len(listing.items) == 10
    assert not listing.complete
    with canned(lines) as (client, _):
        listing = list_keys(client, 1000)
    assert len(listing.items) == 50
    assert listing.complete


def test_a_memcached_that_cannot_dump_says_so() -> None:
    with canned(b"ERROR\r\n") as (client, _):
        assert list_keys(client, 10).refused == "ERROR"


# --- scripted and hostile peers ---------------------------------------------------


@dataclass
class McScript:
    """A scripted memcached: replies by command, after `set` auth if `users`."""

    items: dict[bytes, bytes]
    users: dict[str, str] = field(default_factory=dict)
    metadump: bytes | None = None  # None: dump `items`
    seen: list[bytes] = field(default_factory=list)

    def __call__(self, conn: socket.socket) -> None:
        stream = conn.makefile("rb")
        authenticated = not self.users
        while line := stream.readline():
            command = line.rstrip(b"\r\n")
            self.seen.append(command)
            words = command.split(b" ")
            if words[0] == b"set":
                token = stream.read(int(words[4]) + 2)[:-2].decode()
                user, _, password = token.partition(" ")
                authenticated = self.users.get(user) == password
                conn.sendall(b"STORED\r\n" if authenticated else b"CLIENT_ERROR auth failure\r\n")
            elif not authenticated:
                conn.sendall(b"CLIENT_ERROR unauthenticated\r\n")
            else:
                conn.sendall(self._answer(words))

    def _answer(self, words: list[bytes]) -> bytes:
        if words[0] == b"version":
            return b"VERSION 1.6.18\r\n"
        if words[0] == b"stats":
            return b"STAT curr_items %d\r\nEND\r\n" % len(self.items)
        if words[:2] == [b"lru_crawler", b"metadump"]:
            if self.metadump is not None:
                return self.metadump
            dump = b"".join(
                b"key=%s exp=-1 size=%d\n" % (k.replace(b":", b"%3A"), len(v) + 50)
                for k, v in self.items.items()
            )
            return dump + b"END\r\n"
        if words[0] == b"get":
            found = [(k, self.items[k]) for k in words[1:] if k in self.items]
            body = b"".join(b"VALUE %s 0 %d\r\n%s\r\n" % (k, len(v), v) for k, v in found)
            return body + b"END\r\n"
        return b"ERROR\r\n"


ITEMS = {
    b"user:1:email": b"ada@example.com",
    b"user:2:email": b"bob@example.org",
    b"user:1:card": b"4111111111111111",
    b"page:1": b"<html>hello</html>",
}


def _ctx(**overrides: Any) -> ProbeContext:
    return replace(ProbeContext(timeout=1.0, time_budget=10.0), **overrides)


@each_hostile_peer
def test_a_peer_that_is_not_memcached_gives_unknown_without_raising(handler: Handler) -> None:
    found, took = timed_report(report, handler, _ctx(timeout=0.3))
    assert found.auth is Auth.UNKNOWN
    assert found.auth_evidence.startswith("no memcached answer: a plaintext version ")
    assert "\x1b" not in found.auth_evidence
    assert took < 2.0


def test_an_open_scripted_memcached_reads_names_only_without_inspect_data() -> None:
    script = McScript(dict(ITEMS))
    with fake(script) as server:
        found = report(server.address, server.port, _ctx())
    assert found.auth is Auth.NONE
    assert found.auth_evidence == "version without authentication answered 'VERSION 1.6.18'"
    assert (found.plaintext_allowed, found.tls_offered) == (Tristate.YES, Tristate.NO)
    containers = {c.name: c for c in found.containers}
    assert set(containers) == {"user:*:email", "user:*:card", "page:*"}
    assert containers["user:*:email"].records == 2
    assert containers["user:*:email"].categories == ("email",)
    assert not any(c.startswith(b"get") for c in script.seen)


def test_inspect_data_gets_a_few_values_and_masks_them() -> None:
    with fake(McScript(dict(ITEMS))) as server:
        found = report(server.address, server.port, _ctx(inspect_data=True))
    card = next(c for c in found.containers if c.name == "user:*:card")
    assert card.categories == ("card-number",)
    assert "4111111111111111" not in report_text(found)
    assert "ada@example.com" not in report_text(found)


def test_a_memcached_that_cannot_list_keys_reports_the_gap_and_its_item_count() -> None:
    with fake(McScript(dict(ITEMS), metadump=b"ERROR\r\n")) as server:
        found = report(server.address, server.port, _ctx())
    assert found.auth is Auth.NONE
    assert found.gaps[0].startswith("memcached cannot list its keys (lru_crawler metadump answered")
    ((name, records),) = [(c.name, c.records) for c in found.containers]
    assert (name, records) == ("*", 4)


def test_authentication_with_supplied_credentials_and_no_password_in_evidence() -> None:
    users = {"shop": SECRET}
    good = StoreCredential("memcached", "shop", SECRET)
    bad = StoreCredential("memcached", "shop", "not-" + SECRET)
    with fake(McScript(dict(ITEMS), users)) as server:
        without = report(server.address, server.port, _ctx())
        wrong = report(server.address, server.port, _ctx(credentials=(bad,)))
        right = report(server.address, server.port, _ctx(credentials=(bad, good)))
    assert without.auth is Auth.REQUIRED
    assert without.plaintext_allowed is Tristate.YES
    assert "no credentials to try" in without.auth_evidence
    assert wrong.auth is Auth.REQUIRED
    assert wrong.auth_evidence.endswith(
        "authentication as user shop from your credentials file answered 'CLIENT_ERROR'"
    )
    assert right.auth is Auth.SUPPLIED_CREDENTIALS
    assert right.identity == "shop"
    assert {c.name for c in right.containers} == {"user:*:email", "user:*:card", "page:*"}
    for found in (without, wrong, right):
        assert_kept_out(SECRET, found)


def test_no_auth_set_is_sent_to_a_memcached_that_did_not_ask() -> None:
    script = McScript(dict(ITEMS))
    credential = StoreCredential("memcached", "shop", SECRET)
    with fake(script) as server:
        report(server.address, server.port, _ctx(credentials=(credential,)))
    assert not any(c.startswith(b"set") for c in script.seen)


def test_a_credential_with_a_line_break_is_never_sent() -> None:
    script = McScript(dict(ITEMS), {"shop": SECRET})
    credential = StoreCredential("memcached", "shop", "x\r\nflush_all")
    with fake(script) as server:
        found = report(server.address, server.port, _ctx(credentials=(credential,)))
    assert found.auth is Auth.REQUIRED
    assert not any(c.startswith((b"set", b"flush_all")) for c in script.seen)


def test_keys_unsafe_on_a_command_line_are_never_fetched() -> None:
    dump = b"key=evil%0D%0Aflush_all exp=-1 size=60\nkey=user%3A1%3Aemail exp=-1 size=60\nEND\r\n"
    script = McScript(dict(ITEMS), metadump=dump)
    with fake(script) as server:
        report(server.address, server.port, _ctx(inspect_data=True))
    gets = [c for c in script.seen if c.startswith(b"get")]
    assert gets == [b"get user:1:email"]
    assert b"flush_all" not in b"".join(script.seen)


def test_applies_to_memcached_by_name_or_product() -> None:
    assert SPEC.applies(Service(11211, "tcp", "open", name="memcached"))
    assert SPEC.applies(Service(11211, "tcp", "open", name="memcache"))
    assert SPEC.applies(Service(21211, "tcp", "open", product="Memcached"))
    assert not SPEC.applies(Service(11211, "udp", "open", name="memcached"))
    assert not SPEC.applies(Service(6379, "tcp", "open", name="redis"))
