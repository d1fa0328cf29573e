"""Which ports a scan gives nmap: the ports file, nmap's own most common ports
(from the installed nmap, and the fallback when nmap will not list them), -p
and --extra-ports, and that discovery, the ACK scan and the checkpoint key all
use the one list. No test here sends a packet: nmap is run only to list ports,
with no target, and the scans' nmap is replaced by a recorder."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from scanner.discovery import ack_scan as ack_module
from scanner.discovery import nmap_runs
from scanner.discovery.checkpoint import scan_key
from scanner.discovery.nmap_process import NmapExit
from scanner.discovery.nmap_runs import (
    DiscoveryOptions,
    nmap_arguments,
    nmap_command,
    with_ports,
)
from scanner.discovery.ports import (
    TOP_COUNT,
    ListedPort,
    PortKind,
    PortsFileError,
    TopPorts,
    choose_ports,
    compact,
    default_choice,
    listed_by_nmap,
    load_listed_ports,
    nmap_top_ports,
    parse_ports,
    ports_file,
    ranked_from_services,
    services_file,
)
from scanner.model import Target, TargetKind
from scanner.support.errors import InputError, ScanFailed
from tests.factories import make_host
from tests.support import REPO, requires_nmap

# What the mission needs found without flags (the list).
STORES_AND_QUEUES = (
    *(6379, 6380, 11211, 27017, 27018, 27019, 9200, 9300, 5984, 6984, 9042, 7474, 7687),
    *(8091, 11210, 28015, 8529, 26257, 8123, 2379, 2380, 5601, 5672, 15672, 9092, 2181),
    *(1883, 61616),
)
ADMIN = (2375, 2376, 6443, 10250, 10255, 5985, 5986, 9093, 8161)
# Ranked 2,738th, 4,705th and 2,165th by nmap 7.93: the reason for the file.
MISSED_BY_NMAP = (6379, 11211, 27017)


def _targets(*values: str) -> list[Target]:
    return [Target(v, TargetKind.ADDRESS, "test") for v in values]


def _listed(*ports: int) -> tuple[ListedPort, ...]:
    return tuple(
        ListedPort(p, f"service {p}", PortKind.STORE, "a reason long enough", f"x:{p}")
        for p in ports
    )


def _expand(argument: str) -> set[int]:
    return set(parse_ports(argument, "-p"))


# --- the ports file ------------------------------------------------------------


def test_the_ports_file_is_in_rules_and_ships_with_its_schema() -> None:
    assert ports_file() == REPO / "rules" / "ports.yaml"
    assert (REPO / "rules" / "ports.schema.json").is_file()


def test_every_listed_port_has_a_service_a_kind_and_a_reason() -> None:
    listed = load_listed_ports()
    assert len(listed) >= len(STORES_AND_QUEUES) + len(ADMIN)
    for item in listed:
        assert 1 <= item.port <= 65535
        assert item.service.strip(), item
        # A reason says what listens and why it matters, not a word.
        assert len(item.reason.split()) >= 8, item
        assert item.source.startswith(f"{ports_file()}:")


def test_the_required_stores_queues_and_admin_ports_are_listed() -> None:
    listed = {item.port: item for item in load_listed_ports()}
    missing = [p for p in (*STORES_AND_QUEUES, *ADMIN) if p not in listed]
    assert missing == []
    assert {listed[p].kind for p in ADMIN} == {PortKind.ADMIN}
    assert listed[6379].service.startswith("Redis")
    assert listed[11211].service == "Memcached"
    assert "MongoDB" in listed[27017].service


def test_each_entry_s_line_is_where_its_port_is_written() -> None:
    lines = ports_file().read_text(encoding="utf-8").splitlines()
    for item in load_listed_ports():
        line = int(item.source.rsplit(":", 1)[1])
        assert lines[line - 1].strip() == f"- port: {item.port}", item


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ports.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_ENTRY = """\
  - port: 6379
    service: Redis
    kind: store
    reason: Redis answers without a password unless one is set.
"""


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        # The second entry's port is text, or too large.
        (
            f"ports:\n{GOOD_ENTRY}{GOOD_ENTRY.replace('6379', 'redis')}",
            6,
            "ports.1.port: 'redis' is not of type 'integer'",
        ),
        (
            f"ports:\n{GOOD_ENTRY}{GOOD_ENTRY.replace('6379', '70000')}",
            6,
            "ports.1.port: 70000 is greater than the maximum of 65535",
        ),
        # An entry without a reason: pointed at the entry.
        (
            "ports:\n  - port: 1883\n    service: MQTT\n    kind: queue\n",
            2,
            "'reason' is a required property",
        ),
        (f"ports:\n{GOOD_ENTRY}    colour: red\n", 6, "Additional properties"),
        (f"ports:\n{GOOD_ENTRY}".replace("kind: store", "kind: cache"), 4, "'cache' is not one"),
        (
            "ports:\n  - port: 1883\n    service: MQTT\n    kind: queue\n    reason: open\n",
            5,
            "ports.0.reason: 'open' is too short",
        ),
        ("ports:\n  - port: 1\n  port: [\n", 3, "not valid YAML"),
        (f"ports:\n{GOOD_ENTRY}{GOOD_ENTRY}", 6, "6379 is listed twice (first on line 2)"),
        ("ports: []\n", 1, "should be non-empty"),
    ],
)
def test_a_malformed_ports_file_names_file_and_line(
    tmp_path: Path, text: str, line: int, said: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(PortsFileError) as info:
        load_listed_ports(path)
    assert isinstance(info.value, InputError)
    assert info.value.exit_code == 2
    problem = info.value.problems[0]
    assert (problem.path, problem.line) == (path, line), str(info.value)
    assert said in problem.message
    assert f"{path}:{line}: " in str(info.value)


def test_a_well_formed_file_of_one_entry_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, f"ports:\n{GOOD_ENTRY}")
    (item,) = load_listed_ports(path)
    assert (item.port, item.service, item.kind) == (6379, "Redis", PortKind.STORE)
    assert item.source == f"{path}:2"


# --- port lists ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ports"),
    [
        ("8080", {8080}),
        ("8080,9000-9003", {8080, 9000, 9001, 9002, 9003}),
        (" 1 , 65535 ", {1, 65535}),
        ("5-5", {5}),
    ],
)
def test_port_lists(text: str, ports: set[int]) -> None:
    assert parse_ports(text, "--extra-ports") == ports


@pytest.mark.parametrize(
    ("junk", "shown"),
    [
        ("http", "'http'"),
        ("0", "'0' is out of range"),
        ("65536", "'65536' is out of range"),
        ("9010-9000", "'9010-9000' is out of range"),
        ("80,", "'' is not a port"),
        ("80;443", "'80;443' is not a port"),
        ("T:80", "'T:80'"),
        ("-", "'-'"),
        ("8080-", "'8080-'"),
        ("", "no port given"),
    ],
)
def test_junk_port_lists_are_refused_with_the_item(junk: str, shown: str) -> None:
    with pytest.raises(InputError) as info:
        parse_ports(junk, "--extra-ports")
    message = str(info.value)
    assert message.startswith("--extra-ports: ")
    assert shown in message
    assert "1 to 65535" in message
    assert "\n" not in message


def test_compact_folds_runs_and_round_trips() -> None:
    assert compact([80, 22, 21, 23, 443, 444, 8080]) == "21-23,80,443-444,8080"
    ports = {1, 3, 4, 5, 9, 100, 101, 65535}
    assert parse_ports(compact(ports), "-p") == ports


# --- the choice ----------------------------------------------------------------


def test_the_default_is_nmap_s_list_and_the_file_s_ports() -> None:
    top = TopPorts(tuple(range(1, 1001)))
    choice = default_choice(top, _listed(22, 6379, 11211))
    assert _expand(choice.argument) == set(range(1, 1001)) | {6379, 11211}
    assert choice.words == (
        "nmap's 1,000 most common TCP ports, 3 data-store and administration ports "
        "from x (2 of them beyond nmap's list): 1,002 TCP ports"
    )


def test_the_default_says_when_nmap_services_was_read_instead() -> None:
    top = TopPorts((22, 80), "/usr/share/nmap/nmap-services")
    choice = default_choice(top, _listed(6379), {8080})
    assert _expand(choice.argument) == {22, 80, 6379, 8080}
    assert "as /usr/share/nmap/nmap-services ranks them" in choice.words
    assert choice.words.endswith("and --extra-ports 8080: 4 TCP ports")


def test_given_ports_replace_the_default_and_run_no_nmap() -> None:
    choice = choose_ports("1-1024", None, nmap_path="/nonexistent/nmap")
    assert (choice.argument, choice.words) == ("1-1024", "-p 1-1024 (given)")


def test_extra_ports_add_to_given_ones() -> None:
    choice = choose_ports("1-1024", "8080,9000-9001", nmap_path="/nonexistent/nmap")
    assert choice.argument == "1-1024,8080,9000-9001"
    assert choice.words == "-p 1-1024 (given) and --extra-ports 8080,9000-9001: 1,027 TCP ports"


def test_extra_ports_go_before_nmap_s_protocol_prefixes() -> None:
    # After U:, a bare port would be a UDP port: the extra ones come first.
    choice = choose_ports("T:80,U:53", "8080", nmap_path="/nonexistent/nmap")
    assert choice.argument == "8080,T:80,U:53"
    assert choice.words == "-p T:80,U:53 (given) and --extra-ports 8080"


def test_an_empty_p_is_refused_not_left_to_nmap_s_default() -> None:
    with pytest.raises(InputError, match=r"^-p: no port given"):
        choose_ports(" ", None, nmap_path="/nonexistent/nmap")


def test_junk_extra_ports_are_refused_before_nmap_is_looked_for() -> None:
    with pytest.raises(InputError, match="--extra-ports: 'abc' is not a port"):
        choose_ports(None, "abc", nmap_path="/nonexistent/nmap")


# --- nmap's most common ports ---------------------------------------------------


@requires_nmap
def test_nmap_lists_its_1000_most_common_ports_without_the_stores() -> None:
    ports = listed_by_nmap(str(shutil.which("nmap")))
    assert len(ports) == len(set(ports)) == TOP_COUNT
    assert {22, 80, 443, 3306, 5432} <= set(ports)
    assert not set(MISSED_BY_NMAP) & set(ports)


@requires_nmap
def test_the_fallback_ranks_nmap_services_as_nmap_does() -> None:
    """On the installed nmap, the nmap-services ranking is nmap's own list,
    the tie at the 1,000th place broken as nmap breaks it (nmap 7.93 takes 70
    of the 326 ports tied there, the lowest numbers)."""
    binary = str(shutil.which("nmap"))
    assert ranked_from_services(services_file(binary)) == listed_by_nmap(binary)


def _fake_nmap(tmp_path: Path, script: str) -> str:
    path = tmp_path / "nmap"
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(0o755)
    return str(path)


SERVICES = """\
# name port/proto frequency
a 1/tcp 0.5
b 2/tcp 0.1
tied 30/tcp 0.2
tied 20/tcp 0.2
tied 10/tcp 0.2
udp 4/udp 0.9
zero 5/tcp 0.000000
broken 6/tcp x
"""


def test_when_nmap_lists_nothing_nmap_services_is_ranked_instead(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    binary = _fake_nmap(tmp_path, "echo 'nmap: no listing today' >&2\nexit 1\n")
    services = tmp_path / "services"
    services.write_text(SERVICES, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="trustscan"):
        top = nmap_top_ports(binary, ["--servicedb", str(services)], count=3)
    # 0.5, then the first two of the 0.2 tie by port number; never UDP.
    assert top == TopPorts((1, 10, 20), str(services))
    assert "no listing today" in caplog.text


def test_a_short_list_from_nmap_is_not_taken(tmp_path: Path) -> None:
    """nmap's XML naming fewer ports than asked for is not the list: the
    fallback is read, so the scan never quietly covers fewer ports."""
    xml = '<nmaprun><scaninfo type="connect" protocol="tcp" numservices="2" services="1-2"/>'
    binary = _fake_nmap(tmp_path, f"""printf '%s' '{xml}</nmaprun>' > "$2"\n""")
    services = tmp_path / "services"
    services.write_text(SERVICES, encoding="utf-8")
    top = nmap_top_ports(binary, [f"--servicedb={services}"], count=3)
    assert top.ports == (1, 10, 20)


def test_without_a_whole_list_the_scan_stops_and_asks_for_p(tmp_path: Path) -> None:
    binary = _fake_nmap(tmp_path, "exit 1\n")
    services = tmp_path / "services"
    services.write_text(SERVICES, encoding="utf-8")
    with pytest.raises(ScanFailed) as info:
        nmap_top_ports(binary, ["--servicedb", str(services)], count=10)
    assert "ranks 5 TCP ports, fewer than 10" in str(info.value)
    assert str(info.value).endswith("give the ports to scan with -p")


# --- the list as nmap gets it ---------------------------------------------------


def _p_value(options: DiscoveryOptions) -> str:
    resolved, _ = with_ports(options)
    command = nmap_command(nmap_arguments(resolved, False), resolved.ports, _targets("127.0.0.1"))
    assert command.count("-p") == 1
    return command[command.index("-p") + 1]


@requires_nmap
def test_the_default_as_nmap_arguments() -> None:
    top = set(listed_by_nmap(str(shutil.which("nmap"))))
    listed = {item.port for item in load_listed_ports()}
    assert _expand(_p_value(DiscoveryOptions())) == top | listed
    assert set(MISSED_BY_NMAP) <= _expand(_p_value(DiscoveryOptions()))


@requires_nmap
def test_extra_ports_added_to_the_default_as_nmap_arguments() -> None:
    top = set(listed_by_nmap(str(shutil.which("nmap"))))
    listed = {item.port for item in load_listed_ports()}
    ports = _expand(_p_value(DiscoveryOptions(extra_ports="40000-40002,8080")))
    assert ports == top | listed | {40000, 40001, 40002, 8080}


def test_given_and_extra_ports_as_nmap_arguments() -> None:
    assert _p_value(DiscoveryOptions(ports="22,80")) == "22,80"
    assert _p_value(DiscoveryOptions(ports="22,80", extra_ports="6379")) == "22,80,6379"


@pytest.mark.parametrize(
    "arg", ["-F", "--top-ports=100", "--top-ports", "--port-ratio=0.1", "-p80", "-p-", "-p"]
)
def test_nmap_options_that_choose_ports_are_refused(arg: str) -> None:
    with pytest.raises(InputError, match=r"use -p PORTS .* or --extra-ports PORTS"):
        nmap_arguments(DiscoveryOptions(extra_args=(arg,)), ipv6=False)


def test_nmap_options_that_only_look_alike_pass() -> None:
    extra = ("-Pn", "-PS22", "--exclude-ports=9100", "--privileged")
    assert nmap_arguments(DiscoveryOptions(extra_args=extra), ipv6=False)[-4:] == list(extra)


def test_resolved_options_are_kept_as_they_are() -> None:
    resolved, choice = with_ports(DiscoveryOptions(ports="1-100", extra_ports="6379"))
    assert (resolved.ports, resolved.extra_ports) == ("1-100,6379", None)
    # Resolving again runs no nmap (this one does not exist) and changes nothing.
    again, _ = with_ports(DiscoveryOptions(ports=resolved.ports, nmap_path="/nonexistent/nmap"))
    assert again.ports == resolved.ports
    assert choice.words == "-p 1-100 (given) and --extra-ports 6379: 101 TCP ports"


# --- one list for discovery, the ACK scan and the checkpoint -------------------


def _record(seen: list[list[str]]) -> Callable[..., NmapExit]:
    """A stand-in for `run_nmap` that keeps the arguments and runs nothing."""

    def run_nmap(binary: str, arguments: list[str], *_: object) -> NmapExit:
        seen.append(list(arguments))
        return NmapExit(Path("/nonexistent"), "", None, cancelled=True)

    return run_nmap


@requires_nmap
def test_discovery_and_the_ack_scan_give_nmap_the_same_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(nmap_runs, "run_nmap", _record(seen))
    monkeypatch.setattr(ack_module, "run_nmap", _record(seen))
    options = DiscoveryOptions(extra_ports="40000")
    nmap_runs.discover(_targets("127.0.0.1"), options)
    ack_module.ack_scan([make_host(address="127.0.0.1")], options)
    discovery, ack = seen
    assert "-sV" in discovery
    assert "-sA" in ack
    lists = [args[args.index("-p") + 1] for args in (discovery, ack)]
    assert lists[0] == lists[1] == with_ports(options)[0].ports
    assert {6379, 11211, 27017, 40000} <= _expand(lists[0])


@requires_nmap
def test_the_checkpoint_key_holds_the_effective_list() -> None:
    targets = _targets("127.0.0.1")
    default = DiscoveryOptions()
    resolved, _ = with_ports(default)
    assert scan_key(targets, default) == scan_key(targets, resolved)
    # Another default (nmap's list or rules/ports.yaml changed) is another scan.
    other = DiscoveryOptions(ports=compact(_expand(str(resolved.ports)) - {6379}))
    assert scan_key(targets, other) != scan_key(targets, resolved)
    assert scan_key(targets, DiscoveryOptions(extra_ports="40001")) != scan_key(targets, default)


def test_the_checkpoint_key_of_given_ports() -> None:
    targets = _targets("127.0.0.1")
    given = DiscoveryOptions(ports="1-100", nmap_path="/nonexistent/nmap")
    assert scan_key(targets, given) != scan_key(targets, replace(given, ports="1-101"))
    with_extra = replace(given, extra_ports="101")
    assert scan_key(targets, with_extra) == scan_key(targets, replace(given, ports="1-101"))
