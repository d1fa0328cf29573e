"""The Redis probe: replies read without a server, and hostile and scripted
peers on loopback. Key patterns are tested in test_keyspace.py, the real
servers in test_key_value_servers.py."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

import pytest

from scanner.model import Host, Service
from scanner.probes.clients.wire import LineReply
from scanner.probes.context import ProbeContext
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.redis import SPEC, plaintext_answer, probe, report
from scanner.probes.datastores.redis_keyspace import keyspace
from scanner.probes.datastores.report import Auth, Tristate
from tests.scanner.probes.outcomes import (
    assert_kept_out,
    facts,
    report_text,
)
from tests.scanner.probes.peers import Handler, each_hostile_peer, fake, send_garbage, timed_report

SECRET = "Sup3r-S3cret-pw!"  # noqa: S105  # a password no fake may let out


# --- a scripted Redis, on loopback --------------------------------------------------


Reply = bytes | Callable[[list[bytes]], bytes]


@dataclass
class RespScript:
    """A scripted Redis: replies by command name, once logged in if `password`."""

    replies: dict[str, Reply]
    password: str = ""
    # Commands answered by dripping one byte every 0.4 s, forever.
    stalls: frozenset[str] = frozenset()
    seen: list[list[bytes]] = field(default_factory=list)

    def __call__(self, conn: socket.socket) -> None:
        stream = conn.makefile("rb")
        authenticated = not self.password
        while True:
            args = _read_command(stream)
            if args is None:
                return
            self.seen.append(args)
            name = args[0].decode().upper()
            if name == "AUTH" and "AUTH" not in self.replies:
                authenticated = args[-1] == self.password.encode()
                conn.sendall(b"+OK\r\n" if authenticated else b"-WRONGPASS invalid\r\n")
                continue
            if not authenticated:
                conn.sendall(b"-NOAUTH Authentication required.\r\n")
                continue
            while name in self.stalls:
                conn.sendall(b"*")
                time.sleep(0.4)
            reply = self.replies.get(name, b"-ERR unknown command\r\n")
            conn.sendall(reply(args) if callable(reply) else reply)


def _read_command(stream: BinaryIO) -> list[bytes] | None:
    """One command: a RESP array of bulk strings, or an inline line."""
    line = stream.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()
    args = []
    for _ in range(int(line[1:])):
        size = int(stream.readline()[1:])
        args.append(stream.read(size + 2)[:-2])
    return args


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def array(*items: bytes) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join(items)


CUSTOMERS = {
    b"customer:1": {b"email": b"ada@example.com", b"card_number": b"4111111111111111"},
    b"customer:2": {b"email": b"bob@example.org", b"card_number": b"5555555555554444"},
}


def _hash_reply(kind: str) -> Callable[[list[bytes]], bytes]:
    def answer(args: list[bytes]) -> bytes:
        record = CUSTOMERS.get(args[1], {})
        if kind == "HLEN":
            return b":%d\r\n" % len(record)
        if kind == "HKEYS":
            return array(*(bulk(k) for k in record))
        if kind == "HSTRLEN":
            return b":%d\r\n" % len(record.get(args[2], b""))
        return bulk(record[args[2]]) if args[2] in record else b"$-1\r\n"

    return answer


def customer_store(password: str = "") -> RespScript:
    return RespScript(
        {
            "PING": b"+PONG\r\n",
            "INFO": bulk(b"# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n"),
            "SCAN": array(bulk(b"0"), array(*(bulk(k) for k in CUSTOMERS))),
            "TYPE": b"+hash\r\n",
            **{kind: _hash_reply(kind) for kind in ("HLEN", "HKEYS", "HSTRLEN", "HGET")},
        },
        password,
    )


def _ctx(**overrides: Any) -> ProbeContext:
    return replace(ProbeContext(timeout=1.0, time_budget=10.0), **overrides)


# --- replies read without a server ------------------------------------------------


def test_keyspace_reads_keys_per_database_up_to_db15() -> None:
    info = (
        "# Keyspace\r\ndb0:keys=361,expires=0,avg_ttl=0\r\ndb3:keys=2,expires=1\r\ndb16:keys=9\r\n"
    )
    assert keyspace(info) == {0: 361, 3: 2}


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        (b"+PONG", Tristate.YES),
        (b"-NOAUTH Authentication required.", Tristate.YES),
        (b"-DENIED Redis is running in protected mode", Tristate.YES),
        (b"SSH-2.0-OpenSSH_9.2", Tristate.NO),
        (b"-", Tristate.NO),
        (None, Tristate.NO),
    ],
)
def test_a_plaintext_redis_answer(line: bytes | None, answer: Tristate) -> None:
    assert plaintext_answer(LineReply(line, "timed out")) is answer


def test_applies_to_redis_by_name_or_product() -> None:
    assert SPEC.applies(Service(6379, "tcp", "open", name="redis"))
    assert SPEC.applies(Service(7000, "tcp", "open", product="Redis key-value store"))
    assert not SPEC.applies(Service(6379, "tcp", "closed", name="redis"))
    assert not SPEC.applies(Service(6379, "udp", "open", name="redis"))
    assert not SPEC.applies(Service(11211, "tcp", "open", name="memcached"))


# --- hostile and scripted peers ---------------------------------------------------


@each_hostile_peer
def test_a_peer_that_is_not_redis_gives_unknown_without_raising(handler: Handler) -> None:
    found, took = timed_report(report, handler, _ctx(timeout=0.3))
    assert found.auth is Auth.UNKNOWN
    assert found.plaintext_allowed is Tristate.UNKNOWN
    assert found.auth_evidence.startswith("no Redis answer: a plaintext PING ")
    assert "\x1b" not in found.auth_evidence
    assert "\x00" not in found.auth_evidence
    assert took < 2.0


def test_the_evidence_says_what_a_garbage_banner_was() -> None:
    found, _ = timed_report(report, send_garbage, _ctx(timeout=0.3))
    assert "SSH-2.0-" in found.auth_evidence
    assert "not redis" in found.auth_evidence


def test_an_open_scripted_redis_is_read_by_names_only_without_inspect_data() -> None:
    script = customer_store()
    with fake(script) as server:
        found = report(server.address, server.port, _ctx())
    assert found.auth is Auth.NONE
    assert (found.tls_offered, found.plaintext_allowed) == (Tristate.NO, Tristate.YES)
    (container,) = found.containers
    assert (container.name, container.kind, container.records) == (
        "db0 customer:*",
        "key-pattern",
        2,
    )
    assert container.categories == ("email", "card-number")
    commands = {args[0].upper() for args in script.seen}
    assert commands <= {b"PING", b"INFO", b"SCAN", b"TYPE", b"HLEN", b"HKEYS"}
    assert not any(args[0].upper() == b"KEYS" for args in script.seen)


def test_inspect_data_samples_values_and_masks_them() -> None:
    with fake(customer_store()) as server:
        found = report(server.address, server.port, _ctx(inspect_data=True))
    fields = {f.name: f for f in found.containers[0].fields}
    assert fields["card_number"].detected == (("card-number", 2),)
    assert fields["email"].sampled == 2
    text = report_text(found)
    assert "ada@example.com" not in text
    assert "4111111111111111" not in text


def test_supplied_credentials_log_in_and_the_password_stays_out() -> None:
    credential = StoreCredential("redis", "", SECRET)
    with fake(customer_store(SECRET)) as server:
        found = report(server.address, server.port, _ctx(credentials=(credential,)))
        host = Host(server.address, services=(Service(server.port, "tcp", "open", name="redis"),))
        found_facts = probe(host, host.services[0], _ctx(credentials=(credential,)))
    assert found.auth is Auth.SUPPLIED_CREDENTIALS
    assert found.auth_evidence == (
        "PING without AUTH answered -NOAUTH; AUTH with user (none) from your credentials "
        "file accepted"
    )
    assert found.identity == "default"
    assert facts(found_facts)["store.pii.email"] == "2"
    assert_kept_out(SECRET, found, found_facts)


def test_a_wrong_password_is_required_with_the_reply_code_only() -> None:
    credential = StoreCredential("redis", "auditor", "not-" + SECRET)
    with fake(customer_store(SECRET)) as server:
        found = report(server.address, server.port, _ctx(credentials=(credential,)))
    assert found.auth is Auth.REQUIRED
    assert found.auth_evidence == (
        "PING without AUTH answered -NOAUTH; AUTH with user auditor from your credentials "
        "file: -WRONGPASS"
    )
    assert not found.containers


def test_a_server_echoing_auth_arguments_does_not_leak_the_password() -> None:
    # Redis's unknown-command error quotes the arguments: AUTH's would be the password.
    echo = RespScript(
        {
            "PING": b"-NOAUTH Authentication required.\r\n",
            "AUTH": lambda args: (
                b"-ERR unknown command 'AUTH', with args beginning with: "
                + b" ".join(b"'%s'" % a for a in args[1:])
                + b"\r\n"
            ),
        }
    )
    credential = StoreCredential("redis", "auditor", SECRET)
    with fake(echo) as server:
        found = report(server.address, server.port, _ctx(credentials=(credential,)))
    assert found.auth is Auth.REQUIRED
    assert found.auth_evidence.endswith("AUTH with user auditor from your credentials file: -ERR")
    assert_kept_out(SECRET, found)


def test_redis_before_6_takes_the_password_alone() -> None:
    def old_auth(args: list[bytes]) -> bytes:
        if len(args) == 3:
            return b"-ERR wrong number of arguments for 'auth' command\r\n"
        return b"+OK\r\n" if args[1] == SECRET.encode() else b"-ERR invalid password\r\n"

    script = customer_store()
    script.replies["AUTH"] = old_auth
    script.replies["PING"] = lambda args: (
        b"+PONG\r\n" if any(a[0] == b"AUTH" for a in script.seen[:-1]) else b"-NOAUTH x\r\n"
    )
    credential = StoreCredential("redis", "auditor", SECRET)
    with fake(script) as server:
        found = report(server.address, server.port, _ctx(credentials=(credential,)))
    assert found.auth is Auth.SUPPLIED_CREDENTIALS
    assert [a[1:] for a in script.seen if a[0] == b"AUTH"][:2] == [
        [b"auditor", SECRET.encode()],
        [SECRET.encode()],
    ]


def test_vendor_defaults_only_when_asked() -> None:
    with fake(customer_store("foobared")) as server:
        without = report(server.address, server.port, _ctx())
        with_defaults = report(server.address, server.port, _ctx(try_default_credentials=True))
    assert without.auth is Auth.REQUIRED
    assert "no credentials to try" in without.auth_evidence
    assert with_defaults.auth is Auth.DEFAULT_CREDENTIALS
    assert with_defaults.auth_evidence.endswith(
        "AUTH with user default from a vendor default accepted"
    )
    assert "foobared" not in report_text(with_defaults)


def test_protected_mode_is_reported_as_refusing() -> None:
    denied = RespScript({"PING": b"-DENIED Redis is running in protected mode\r\n"})
    with fake(denied) as server:
        found = report(server.address, server.port, _ctx())
    assert found.auth is Auth.REQUIRED
    assert "-DENIED (protected mode" in found.auth_evidence


def test_an_oversized_reply_ends_the_session_with_a_gap() -> None:
    huge = customer_store()
    huge.replies["INFO"] = b"$10000000\r\n" + b"x" * 1_000_000
    with fake(huge) as server:
        started = time.monotonic()
        found = report(server.address, server.port, _ctx(max_bytes=4096))
        took = time.monotonic() - started
    assert found.auth is Auth.NONE
    assert found.gaps == ("the session ended: a reply over 4,096 bytes",)
    assert took < 2.0


def test_a_slow_peer_is_cut_off_by_the_time_budget() -> None:
    # Each byte comes inside the per-read timeout; the reply never ends.
    slow = replace(customer_store(), stalls=frozenset({"SCAN"}))
    with fake(slow) as server:
        started = time.monotonic()
        found = report(server.address, server.port, _ctx(timeout=1.0, time_budget=1.5))
        took = time.monotonic() - started
    assert found.auth is Auth.NONE
    assert took < 2.5
    assert any("ran out" in gap or "timed out" in gap for gap in found.gaps), found.gaps


def test_a_hash_too_big_for_hkeys_is_read_one_hscan_page() -> None:
    script = customer_store()
    script.replies["HLEN"] = b":100000\r\n"
    script.replies["HSCAN"] = array(bulk(b"17"), array(bulk(b"email"), bulk(b"x")))
    with fake(script) as server:
        found = report(server.address, server.port, _ctx())
    assert [f.name for f in found.containers[0].fields] == ["email"]
    assert not any(a[0] == b"HKEYS" for a in script.seen)
    assert all(a[3:] == [b"COUNT", b"200"] for a in script.seen if a[0] == b"HSCAN")


def test_the_scan_stops_at_max_keys_and_estimates() -> None:
    keys = [bulk(b"customer:%d" % n) for n in range(10)]
    script = customer_store()
    script.replies["INFO"] = bulk(b"db0:keys=1000\r\n")
    script.replies["SCAN"] = array(bulk(b"7"), array(*keys))
    with fake(script) as server:
        found = report(server.address, server.port, _ctx(max_keys=10))
    (container,) = found.containers
    assert container.records == 1000
    assert found.gaps[0].startswith("db0: visited 10 of 1,000 keys")
    assert sum(1 for a in script.seen if a[0] == b"SCAN") == 1


def test_max_keys_is_shared_among_databases() -> None:
    keys = [bulk(b"customer:%d" % n) for n in range(10)]
    script = customer_store()
    script.replies["INFO"] = bulk(b"db0:keys=1000\r\ndb1:keys=1000\r\n")
    script.replies["SCAN"] = array(bulk(b"7"), array(*keys))
    script.replies["SELECT"] = b"+OK\r\n"
    with fake(script) as server:
        found = report(server.address, server.port, _ctx(max_keys=20))
    assert [(c.name, c.records) for c in found.containers] == [
        ("db0 customer:*", 1000),
        ("db1 customer:*", 1000),
    ]
    assert [a for a in script.seen if a[0] == b"SELECT"] == [[b"SELECT", b"1"]]
