from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from scanner.local import sockets
from scanner.local.commands import CommandOutput
from scanner.local.sockets import (
    Listener,
    ListenerScan,
    parse_proc_net_tcp,
    parse_ss,
    read_listeners,
)
from tests.scanner.local.procfs import HEADER, make_proc, tcp_line
from tests.support import FIXTURES

LOCAL = FIXTURES / "local"
REAL_PROC = Path("/proc")


def fixture(name: str) -> str:
    return (LOCAL / name).read_text(encoding="ascii")


def endpoints(listeners: Sequence[Listener]) -> set[tuple[str, str, int]]:
    return {(item.family, item.address, item.port) for item in listeners}


def by_port(listeners: Sequence[Listener], port: int, family: str = "ipv4") -> Listener:
    (found,) = [item for item in listeners if item.port == port and item.family == family]
    return found


# ------------------------------------------------------------ /proc/net/tcp parser


def test_recorded_proc_net_tcp_lists_only_listening_sockets() -> None:
    listeners = parse_proc_net_tcp(fixture("proc_net_tcp"), "ipv4", byteorder="little")
    assert endpoints(listeners) == {
        ("ipv4", "127.0.0.1", port) for port in (25672, 4369, 4222, 5432, 5672, 6379, 1883, 3306)
    } | {("ipv4", "0.0.0.0", 2024)}
    # Nine LISTEN lines; the ESTABLISHED and TIME_WAIT lines of the file are not listeners.
    assert len(listeners) == 9
    postgres = by_port(listeners, 5432)
    assert (postgres.protocol, postgres.inode, postgres.process, postgres.pid) == (
        "tcp",
        5156,
        "",
        None,
    )
    assert postgres.loopback
    assert not postgres.wildcard
    assert by_port(listeners, 2024).wildcard
    assert not by_port(listeners, 2024).loopback


def test_recorded_proc_net_tcp6() -> None:
    listeners = parse_proc_net_tcp(fixture("proc_net_tcp6"), "ipv6", byteorder="little")
    assert endpoints(listeners) == {("ipv6", "::1", 6379), ("ipv6", "::1", 4369)}
    assert by_port(listeners, 6379, "ipv6").inode == 5201
    assert all(item.loopback and not item.wildcard for item in listeners)


def test_recorded_namespace_tables_decode_every_kind_of_address() -> None:
    v4 = parse_proc_net_tcp(fixture("netns_proc_net_tcp"), "ipv4", byteorder="little")
    v6 = parse_proc_net_tcp(fixture("netns_proc_net_tcp6"), "ipv6", byteorder="little")
    assert endpoints(v4) == {
        ("ipv4", "127.0.0.1", 6379),
        ("ipv4", "0.0.0.0", 8080),
        ("ipv4", "127.0.0.1", 5432),
    }
    assert endpoints(v6) == {
        ("ipv6", "::", 8443),
        ("ipv6", "::", 9000),
        ("ipv6", "::1", 3306),
        ("ipv6", "::ffff:0.0.0.0", 7000),
    }
    assert [item.port for item in v6 if item.wildcard] == [8443, 9000, 7000]


def test_recorded_ss_and_proc_describe_the_same_sockets() -> None:
    from_proc = parse_proc_net_tcp(
        fixture("netns_proc_net_tcp"), "ipv4", byteorder="little"
    ) + parse_proc_net_tcp(fixture("netns_proc_net_tcp6"), "ipv6", byteorder="little")
    from_ss = parse_ss(fixture("netns_ss_ltnp.txt"))
    assert endpoints(from_ss) == endpoints(from_proc)
    assert len(from_ss) == len(from_proc) == 7


def test_big_endian_hosts_print_addresses_in_network_order() -> None:
    text = "\n".join([HEADER, tcp_line("7F000001:0016")])
    (listener,) = parse_proc_net_tcp(text, "ipv4", byteorder="big")
    assert (listener.address, listener.port) == ("127.0.0.1", 22)
    (swapped,) = parse_proc_net_tcp(text, "ipv4", byteorder="little")
    assert swapped.address == "1.0.0.127"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        HEADER,
        tcp_line("0100007F:0016").replace("   0:", "   0"),  # no "sl:" field
        tcp_line("0100007F:0016")[:60],  # cut short
        tcp_line("0100007Z:0016"),  # not hex
        tcp_line("0100007F:00016"),  # five hex digits of port
        tcp_line("0100007F:16"),
        tcp_line("0100007F"),  # no port
        tcp_line("00000000000000000000000001000000:0016"),  # IPv6 width in the IPv4 table
        tcp_line("0100007F:0016", inode="x12"),
        tcp_line("0100007F:0016", inode="-5"),
        tcp_line("0100007F:0016", inode="\u0661\u0662"),  # Arabic-Indic digits: int() takes them
        tcp_line("0100007F:0016", inode="1" * 21),
        tcp_line("0100007F:0016", state="01"),  # established: not a listener
        tcp_line("0100007F:0016", state="0AA"),
        "\x00\xff\ufffd" * 50,
    ],
)
def test_malformed_or_irrelevant_line_is_skipped(line: str) -> None:
    good = tcp_line("0100007F:1538", inode="7")
    listeners = parse_proc_net_tcp("\n".join([HEADER, line, good]), "ipv4", byteorder="little")
    assert [(item.address, item.port, item.inode) for item in listeners] == [("127.0.0.1", 5432, 7)]


def test_lowercase_hex_and_state_are_accepted() -> None:
    text = tcp_line("0100007f:1538", state="0a")
    (listener,) = parse_proc_net_tcp(text, "ipv4", byteorder="little")
    assert (listener.address, listener.port) == ("127.0.0.1", 5432)


def test_ipv4_line_in_the_ipv6_table_is_skipped() -> None:
    assert parse_proc_net_tcp(tcp_line("0100007F:0016"), "ipv6", byteorder="little") == ()


def test_lines_beyond_the_bound_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sockets, "MAX_LINES", 5)
    lines = [HEADER] + [tcp_line(f"0100007F:{port:04X}") for port in range(1, 20)]
    listeners = parse_proc_net_tcp("\n".join(lines), "ipv4", byteorder="little")
    assert [item.port for item in listeners] == [1, 2, 3, 4, 5]


def test_unknown_family_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="family"):
        parse_proc_net_tcp("", "inet")


# ----------------------------------------------------------------- Listener flags


@pytest.mark.parametrize(
    ("address", "wildcard", "loopback"),
    [
        ("0.0.0.0", True, False),
        ("::", True, False),
        ("::ffff:0.0.0.0", True, False),
        ("127.0.0.1", False, True),
        ("127.0.0.53", False, True),
        ("::1", False, True),
        ("::ffff:127.0.0.1", False, True),
        ("10.0.0.5", False, False),
        ("fe80::1", False, False),
        ("not an address", False, False),
    ],
)
def test_wildcard_and_loopback(address: str, wildcard: bool, loopback: bool) -> None:
    listener = Listener("tcp", "ipv6" if ":" in address else "ipv4", address, 1, 1)
    assert (listener.wildcard, listener.loopback) == (wildcard, loopback)


# ---------------------------------------------------------------------- ss parser


def test_recorded_ss_output_names_processes() -> None:
    listeners = parse_ss(fixture("ss_ltnp.txt"))
    assert len(listeners) == 11
    postgres = by_port(listeners, 5432)
    assert (postgres.address, postgres.process, postgres.pid, postgres.inode) == (
        "127.0.0.1",
        "postgres",
        2196,
        0,
    )
    redis6 = by_port(listeners, 6379, "ipv6")
    assert (redis6.address, redis6.process, redis6.pid) == ("::1", "redis-server", 2216)
    assert by_port(listeners, 3306).process == "mariadbd"
    orphan = by_port(listeners, 2024)
    assert orphan.wildcard
    assert (orphan.process, orphan.pid) == ("", None)


def test_recorded_ss_output_of_a_non_root_user_has_no_processes() -> None:
    listeners = parse_ss(fixture("ss_ltnp_nonroot.txt"))
    assert endpoints(listeners) == endpoints(parse_ss(fixture("ss_ltnp.txt")))
    assert {(item.process, item.pid) for item in listeners} == {("", None)}


def test_recorded_ss_device_bound_dual_stack_and_mapped_addresses() -> None:
    listeners = parse_ss(fixture("netns_ss_ltnp.txt"))
    assert by_port(listeners, 6379).address == "127.0.0.1"  # printed "127.0.0.1%lo"
    dual = by_port(listeners, 9000, "ipv6")  # printed "*"
    assert dual.address == "::"
    assert dual.wildcard
    assert by_port(listeners, 7000, "ipv6").address == "::ffff:0.0.0.0"
    assert {item.process for item in listeners} == {"python3"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'tcp   LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=7,fd=3))',
            ("ipv4", "0.0.0.0", 22, "sshd", 7),
        ),
        (  # several processes share a pre-forked socket: the first is taken
            'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=12,fd=6),("nginx",pid=11,fd=6))',
            ("ipv4", "0.0.0.0", 80, "nginx", 12),
        ),
        (
            'LISTEN 0 5 127.0.0.1:6010 0.0.0.0:* users:(("tmux: server",pid=9,fd=4))',
            ("ipv4", "127.0.0.1", 6010, "tmux: server", 9),
        ),
        (
            'LISTEN 0 5 127.0.0.1:6011 0.0.0.0:* users:(("bad\x1b[31m",pid=9,fd=4))',
            ("ipv4", "127.0.0.1", 6011, "bad [31m", 9),
        ),
        ("LISTEN 0 128 :::22 :::*", ("ipv6", "::", 22, "", None)),  # old iproute2
        ("LISTEN 0 128 [fe80::1]%eth0:22 [::]:*", ("ipv6", "fe80::1", 22, "", None)),
    ],
)
def test_ss_line_variants(line: str, expected: tuple[str, str, int, str, int | None]) -> None:
    (listener,) = parse_ss(line)
    assert (
        listener.family,
        listener.address,
        listener.port,
        listener.process,
        listener.pid,
    ) == expected


@pytest.mark.parametrize(
    "line",
    [
        "",
        "LISTEN",
        "ESTAB 0 0 127.0.0.1:22 127.0.0.1:5000",
        "udp UNCONN 0 0 0.0.0.0:68 0.0.0.0:*",
        "LISTEN 0 128 127.0.0.1:70000 0.0.0.0:*",
        "LISTEN 0 128 127.0.0.1: 0.0.0.0:*",
        "LISTEN 0 128 127.0.0.1:http 0.0.0.0:*",
        "LISTEN 0 128 300.1.1.1:22 0.0.0.0:*",
        "LISTEN 0 128 localhost:22 0.0.0.0:*",
        "\x00\xff" * 40,
    ],
)
def test_ss_malformed_line_is_skipped(line: str) -> None:
    good = "LISTEN 0 128 127.0.0.1:5432 0.0.0.0:*"
    assert endpoints(parse_ss(f"{line}\n{good}")) == {("ipv4", "127.0.0.1", 5432)}


# ------------------------------------------------------------------ read_listeners


def fake_proc(root: Path, processes: dict[int, tuple[str, list[str]]]) -> Path:
    """A /proc with the namespace recordings as net/tcp{,6} and the given processes."""
    return make_proc(root, fixture("netns_proc_net_tcp"), fixture("netns_proc_net_tcp6"), processes)


SOCKET_0_0_0_0_8080 = "socket:[18847]"
SOCKET_127_0_0_1_5432 = "socket:[18848]"
SOCKET_127_0_0_1_6379 = "socket:[18849]"


def test_read_listeners_names_owners_from_fd_links(tmp_path: Path) -> None:
    proc = fake_proc(
        tmp_path,
        {
            300: ("nginx", ["/dev/null", SOCKET_0_0_0_0_8080]),
            301: ("nginx", ["pipe:[5]", SOCKET_0_0_0_0_8080]),  # a worker sharing it
            200: ("postgres", ["socket:[999]", SOCKET_127_0_0_1_5432, "anon_inode:[eventfd]"]),
            400: ("redis\x1b]0;pwned\x07", [SOCKET_127_0_0_1_6379]),
        },
    )
    scan = read_listeners(proc)
    assert isinstance(scan, ListenerScan)
    v4 = scan.listeners
    assert (by_port(v4, 8080).process, by_port(v4, 8080).pid) == ("nginx", 300)
    assert (by_port(v4, 5432).process, by_port(v4, 5432).pid) == ("postgres", 200)
    assert by_port(v4, 6379).process == "redis ]0;pwned"  # control characters removed
    assert by_port(v4, 8080).inode == 18847
    assert [item.port for item in scan.listeners] == [3306, 5432, 6379, 7000, 8080, 8443, 9000]
    # The four IPv6 sockets have no owner in this tree; as root that is not a permission matter.
    assert scan.notes == (
        "4 listening socket(s) have no owner process visible here "
        "(kernel sockets, or a process in another PID namespace)",
    )


def test_unreadable_descriptors_become_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = fake_proc(tmp_path, {200: ("postgres", [SOCKET_127_0_0_1_5432])})
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> Iterator[os.DirEntry[str]]:
        if Path(path) == proc / "200" / "fd":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    scan = read_listeners(proc)
    assert by_port(scan.listeners, 5432).process == ""
    assert scan.notes == (
        "process names of 7 listening socket(s) could not be read: "
        "other users' processes can only be inspected as root",
    )


def test_not_root_explains_missing_owners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = fake_proc(tmp_path, {})
    monkeypatch.setattr(sockets, "_is_root", lambda: False)
    assert read_listeners(proc).notes == (
        "process names of 7 listening socket(s) could not be read: "
        "other users' processes can only be inspected as root",
    )


def test_vanished_process_is_skipped(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {200: ("postgres", [SOCKET_127_0_0_1_5432])})
    (proc / "201").mkdir()  # exited between listing /proc and opening its fd directory
    (proc / "202").mkdir()
    (proc / "202" / "fd").write_text("not a directory")
    scan = read_listeners(proc)
    assert by_port(scan.listeners, 5432).process == "postgres"


def test_missing_tcp6_and_oversized_tcp_are_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = fake_proc(tmp_path, {})
    (proc / "net" / "tcp6").unlink()
    # Cut inside the third listening line: the first two survive, the cut line is dropped.
    text = fixture("netns_proc_net_tcp")
    cut = text.index("\n", text.index("   2:")) - 10
    monkeypatch.setattr(sockets, "MAX_PROC_NET_BYTES", cut)
    scan = read_listeners(proc)
    assert [item.port for item in scan.listeners] == [6379, 8080]
    assert f"{proc / 'net' / 'tcp'} is larger than {cut} bytes; only its start was read" in (
        scan.notes
    )
    assert f"{proc / 'net' / 'tcp6'} is absent: no ipv6 listeners were listed" in scan.notes


def test_unreadable_table_is_a_note(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, {})
    (proc / "net" / "tcp").unlink()
    (proc / "net" / "tcp").mkdir()  # reading a directory fails with IsADirectoryError
    scan = read_listeners(proc)
    assert {item.family for item in scan.listeners} == {"ipv6"}
    assert any(note.startswith(f"cannot read {proc / 'net' / 'tcp'}:") for note in scan.notes)


class RecordingRunner:
    def __init__(self, output: CommandOutput) -> None:
        self.output = output
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> CommandOutput:
        self.calls.append(tuple(argv))
        return self.output


def test_without_proc_net_falls_back_to_ss(tmp_path: Path) -> None:
    run = RecordingRunner(CommandOutput(0, fixture("ss_ltnp.txt"), ""))
    scan = read_listeners(tmp_path, run=run)
    assert run.calls == [("ss", "-H", "-ltnp")]
    assert by_port(scan.listeners, 6379).process == "redis-server"
    assert scan.notes == (
        "no /proc/net/tcp: listening sockets were read from ss -H -ltnp",
        "ss could not name the process of 1 listening socket(s) (needs root)",
    )


def test_without_proc_net_or_ss(tmp_path: Path) -> None:
    run = RecordingRunner(CommandOutput(127, "", "ss: not found", missing=True))
    assert read_listeners(tmp_path, run=run) == ListenerScan(
        (), ("no /proc/net/tcp and no ss command: listening sockets unknown",)
    )


def test_failing_ss_is_a_note(tmp_path: Path) -> None:
    run = RecordingRunner(CommandOutput(1, "", "Cannot open netlink socket:\nProtocol error"))
    scan = read_listeners(tmp_path, run=run)
    assert scan == ListenerScan(
        (),
        ("no /proc/net/tcp, and ss -H -ltnp failed: Cannot open netlink socket: Protocol error",),
    )


# ------------------------------------------------------------------- the real /proc


@pytest.mark.skipif(not (REAL_PROC / "net" / "tcp").exists(), reason="needs Linux /proc")
def test_real_proc_finds_this_process_listening() -> None:
    own_name = (REAL_PROC / "self" / "comm").read_text().strip()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as everywhere,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as local,
    ):
        everywhere.bind(("0.0.0.0", 0))
        everywhere.listen()
        local.bind(("127.0.0.1", 0))
        local.listen()
        scan = read_listeners()
        wide = by_port(scan.listeners, everywhere.getsockname()[1])
        near = by_port(scan.listeners, local.getsockname()[1])
    assert (wide.address, wide.wildcard, wide.loopback) == ("0.0.0.0", True, False)
    assert (near.address, near.wildcard, near.loopback) == ("127.0.0.1", False, True)
    for found in (wide, near):
        assert (found.protocol, found.family) == ("tcp", "ipv4")
        assert (found.process, found.pid) == (own_name, os.getpid())
        assert found.inode > 0


@pytest.mark.skipif(not (REAL_PROC / "net" / "tcp6").exists(), reason="needs IPv6 in /proc")
def test_real_proc_finds_an_ipv6_loopback_listener() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as local:
        try:
            local.bind(("::1", 0))
        except OSError as exc:
            pytest.skip(f"no IPv6 loopback: {exc}")
        local.listen()
        scan = read_listeners()
        found = by_port(scan.listeners, local.getsockname()[1], "ipv6")
    assert (found.address, found.loopback, found.pid) == ("::1", True, os.getpid())
