"""The Redis probe: key patterns and evidence without a server, hostile and
scripted peers on loopback, and the real Redis servers of tests/datastores.py
(open, password, TLS) seeded with fake customers."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

import pytest

from fixtures.datastores.customers import raw_values
from scanner.credentials import StoreCredential
from scanner.model import Host, Observation, Service
from scanner.probes import ProbeContext
from scanner.probes.redis import (
    SPEC,
    KeyTally,
    LineReply,
    clean,
    estimate,
    field_of,
    key_pattern,
    keyspace,
    plaintext_answer,
    probe,
    report,
    summarise_values,
)
from scanner.probes.store_report import Auth, StoreReport, Tristate
from tests.datastores import Stores, StoreServer

FAKE_ADDRESS = "127.0.51.20"
SECRET = "Sup3r-S3cret-pw!"  # noqa: S105  # a password no fake may let out


# --- peers that misbehave, on loopback -------------------------------------------


class FakeServer:
    """A TCP listener on loopback whose every connection `handler` serves: for
    replies no real server gives (garbage, resets, silence, echoes)."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self._listener = socket.create_server((FAKE_ADDRESS, 0))
        self.address, self.port = self._listener.getsockname()[:2]
        self._handler = handler
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            self._handler(conn)

    def close(self) -> None:
        self._stop.set()
        self._accepting.join(2)
        self._listener.close()


@contextlib.contextmanager
def fake(handler: Callable[[socket.socket], None]) -> Iterator[FakeServer]:
    server = FakeServer(handler)
    try:
        yield server
    finally:
        server.close()


def send_garbage(conn: socket.socket) -> None:
    conn.sendall(b"\x1b[31mSSH-2.0-\x00\xff\xfe not redis \xe2\x80\xae\r\n")


def reset(conn: socket.socket) -> None:
    # SO_LINGER with a zero timeout: close() sends a RST, not a FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def silent(conn: socket.socket) -> None:
    while conn.recv(4096):
        pass


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


def _all_text(observations: tuple[Observation, ...]) -> str:
    return "\n".join(f"{o.key}={o.value} {o.evidence}" for o in observations)


def _report_text(found: StoreReport) -> str:
    return repr(found) + found.auth_evidence + found.tls_evidence + "".join(found.gaps)


# --- key patterns, counts and fields ---------------------------------------------


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("customer:17", "customer:*"),
        ("session:5f2b9c0e8a7d4e1fb3c2a1d0e9f8a7b6", "session:*"),
        ("cache:page:12", "cache:page:*"),
        ("user:42:email", "user:*:email"),
        ("order_2024_17", "order_*_*"),
        ("token:3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b:owner", "token:*:owner"),
        ("login:ada.lovelace@example.com:attempts", "login:*:attempts"),
        ("api-key.v2.Zm9vYmFyMTIzNDU2Nzg5MGFi", "api-key.v2.*"),
        ("products", "products"),
        ("deadbeef:facade", "deadbeef:facade"),  # words made of hex letters stay
        ("queue:\x1b[2Jjobs\r\n", "queue: [2Jjobs"),
    ],
)
def test_keys_group_into_patterns(key: str, pattern: str) -> None:
    assert key_pattern(key) == pattern
    assert key_pattern(key.encode()) == pattern


def test_a_binary_key_groups_without_raising() -> None:
    assert key_pattern(b"\xff\xfe:17") == "\ufffd\ufffd:*"


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("user:*:email", "email"),
        ("cache:page:*", "page"),
        ("products", "products"),
        ("customer_*_phone_*", "phone"),
        ("*", "*"),
    ],
)
def test_the_field_a_pattern_names(pattern: str, name: str) -> None:
    assert field_of(pattern) == name


def test_tally_counts_and_keeps_a_few_keys_per_pattern() -> None:
    tally = KeyTally(keep=2)
    for n in range(5):
        tally.add(b"customer:%d" % n)
    tally.add(b"products")
    assert tally.counts == {"customer:*": 5, "products": 1}
    assert tally.samples["customer:*"] == [b"customer:0", b"customer:1"]
    assert tally.largest(1) == ["customer:*"]
    assert tally.visited == 6


def test_record_counts_scale_only_when_the_scan_was_partial() -> None:
    assert estimate(50, 100, 100) == 50
    assert estimate(50, 100, None) == 50
    assert estimate(50, 100, 1000) == 500
    assert estimate(3, 0, 10) == 3


def test_keyspace_reads_keys_per_database_up_to_db15() -> None:
    info = (
        "# Keyspace\r\ndb0:keys=361,expires=0,avg_ttl=0\r\ndb3:keys=2,expires=1\r\ndb16:keys=9\r\n"
    )
    assert keyspace(info) == {0: 361, 3: 2}


def test_json_values_become_fields_and_plain_values_the_patterns_field() -> None:
    values = ['{"customer_id": 3, "email": "ada@example.com"}', "not json"]
    fields = {f.name: f for f in summarise_values("session:*", values)}
    assert set(fields) == {"session", "customer_id", "email"}
    assert fields["email"].categories == ("email",)
    assert fields["email"].sampled == 1
    assert "ada@example.com" not in repr(fields)


def test_without_values_the_pattern_names_one_field() -> None:
    (only,) = summarise_values("user:*:email", None)
    assert (only.name, only.categories, only.sampled) == ("email", ("email",), 0)


def test_evidence_drops_control_and_bidi_characters_and_is_bounded() -> None:
    shown = clean(b"\x1b[31mred\x00\r\nline\xe2\x80\xaeevil" + b"x" * 500, 40)
    assert "\x1b" not in shown
    assert "\x00" not in shown
    assert "\u202e" not in shown
    assert shown.startswith("[31mred line evil")
    assert len(shown) == 40
    assert shown.endswith("…")


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


@pytest.mark.parametrize(
    "handler", [send_garbage, reset, silent], ids=["garbage", "reset", "silent"]
)
def test_a_peer_that_is_not_redis_gives_unknown_without_raising(
    handler: Callable[[socket.socket], None],
) -> None:
    with fake(handler) as server:
        started = time.monotonic()
        found = report(server.address, server.port, _ctx(timeout=0.3))
        took = time.monotonic() - started
    assert found.auth is Auth.UNKNOWN
    assert found.plaintext_allowed is Tristate.UNKNOWN
    assert found.auth_evidence.startswith("no Redis answer: a plaintext PING ")
    assert "\x1b" not in found.auth_evidence
    assert "\x00" not in found.auth_evidence
    assert took < 2.0


def test_the_evidence_says_what_a_garbage_banner_was() -> None:
    with fake(send_garbage) as server:
        found = report(server.address, server.port, _ctx(timeout=0.3))
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
    text = _report_text(found)
    assert "ada@example.com" not in text
    assert "4111111111111111" not in text


def test_supplied_credentials_log_in_and_the_password_stays_out() -> None:
    credential = StoreCredential("redis", "", SECRET)
    with fake(customer_store(SECRET)) as server:
        found = report(server.address, server.port, _ctx(credentials=(credential,)))
        host = Host(server.address, services=(Service(server.port, "tcp", "open", name="redis"),))
        facts = probe(host, host.services[0], _ctx(credentials=(credential,)))
    assert found.auth is Auth.SUPPLIED_CREDENTIALS
    assert found.auth_evidence == (
        "PING without AUTH answered -NOAUTH; AUTH with user (none) from your credentials "
        "file accepted"
    )
    assert found.identity == "default"
    assert {f.key: f.value for f in facts}["store.pii.email"] == "2"
    assert SECRET not in _report_text(found)
    assert SECRET not in _all_text(facts)


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
    assert SECRET not in _report_text(found)


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
    assert "foobared" not in _report_text(with_defaults)


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


# --- real servers ---------------------------------------------------------------


def _scan(server: StoreServer, ctx: ProbeContext) -> tuple[Observation, ...]:
    service = Service(server.port, "tcp", "open", name="redis")
    return probe(Host(server.address, services=(service,)), service, ctx)


def _facts(observations: tuple[Observation, ...]) -> dict[str, str]:
    return {o.key: o.value for o in observations}


def _evidence(observations: tuple[Observation, ...], key: str) -> str:
    return next(o.evidence for o in observations if o.key == key)


def _credential(server: StoreServer) -> StoreCredential:
    return StoreCredential("redis", server.username, server.password, host=server.address)


def _assert_nothing_leaks(observations: tuple[Observation, ...], *secrets: str) -> None:
    text = _all_text(observations)
    leaked = sorted(v for v in raw_values() if v in text)
    assert not leaked, leaked[:5]
    for secret in secrets:
        assert secret not in text


def _assert_customers_found(observations: tuple[Observation, ...]) -> None:
    facts = _facts(observations)
    assert int(facts["store.pii.email"]) >= 250
    assert "db0 customer:*" in _evidence(observations, "store.pii.email")
    assert int(facts["store.pii.card-number"]) >= 250
    assert int(facts["store.records"]) >= 361  # 250 customers, 60 sessions, 50 pages, products


@pytest.mark.integration
def test_real_open_redis(stores: Stores) -> None:
    server = stores.get("redis", "open")
    observations = _scan(server, ProbeContext())
    facts = _facts(observations)
    assert facts["store.auth"] == "none"
    assert (facts["store.tls_offered"], facts["store.plaintext_allowed"]) == ("no", "yes")
    assert _evidence(observations, "store.plaintext_allowed").endswith(
        "a plaintext PING answered '+PONG'"
    )
    _assert_customers_found(observations)
    # Names only: no values sampled, so neither card nor password forms are known.
    assert "store.card_numbers_plaintext" not in facts
    assert "store.password_storage" not in facts
    _assert_nothing_leaks(observations)


@pytest.mark.integration
def test_real_open_redis_with_inspect_data(stores: Stores) -> None:
    server = stores.get("redis", "open")
    started = time.monotonic()
    observations = _scan(server, ProbeContext(inspect_data=True))
    assert time.monotonic() - started < 10
    facts = _facts(observations)
    assert int(facts["store.card_numbers_plaintext"]) > 0
    assert facts["store.password_storage"] == "plaintext"
    # The session JSON's e-mail is found by its key, in the session pattern.
    assert "db0 session:*" in _evidence(observations, "store.pii.email")
    _assert_customers_found(observations)
    _assert_nothing_leaks(observations)


@pytest.mark.integration
def test_real_password_redis(stores: Stores) -> None:
    server = stores.get("redis", "password")
    refused = _scan(server, ProbeContext())
    assert _facts(refused)["store.auth"] == "required"
    assert "store.personal_data" not in _facts(refused)
    wrong = replace_password(_credential(server), "wrong-" + server.password)
    assert _facts(_scan(server, ProbeContext(credentials=(wrong,))))["store.auth"] == "required"

    credential = _credential(server)
    observations = _scan(server, ProbeContext(credentials=(credential,), inspect_data=True))
    facts = _facts(observations)
    assert facts["store.auth"] == "supplied-credentials"
    _assert_customers_found(observations)
    assert facts["store.password_storage"] == "plaintext"
    _assert_nothing_leaks(observations, server.password)
    _assert_nothing_leaks(refused, server.password)


def replace_password(credential: StoreCredential, password: str) -> StoreCredential:
    return StoreCredential(credential.store, credential.username, password, credential.host)


@pytest.mark.integration
def test_real_tls_redis(stores: Stores) -> None:
    server = stores.get("redis", "tls")
    observations = _scan(server, ProbeContext(inspect_data=True))
    facts = _facts(observations)
    assert (facts["store.tls_offered"], facts["store.plaintext_allowed"]) == ("yes", "no")
    assert _evidence(observations, "store.tls_offered").startswith("a TLS handshake succeeded")
    assert facts["store.auth"] == "none"
    assert "over TLS" in _evidence(observations, "store.auth")
    _assert_customers_found(observations)
    assert int(facts["store.card_numbers_plaintext"]) > 0
    _assert_nothing_leaks(observations)


@pytest.mark.integration
def test_real_redis_bounded_by_max_keys(stores: Stores) -> None:
    server = stores.get("redis", "open")
    observations = _scan(server, ProbeContext(max_keys=100))
    facts = _facts(observations)
    gaps = [o.evidence for o in observations if o.key == "store.gap"]
    assert any(g.startswith("db0: visited 100 of ") for g in gaps), gaps
    # Estimated from a partial scan: near the real totals, not exact.
    assert 361 - 10 <= int(facts["store.records"]) <= 361 + 10


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
