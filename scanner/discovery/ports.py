"""Which TCP ports a scan asks nmap about, and why, in words for the report.

Without `-p`, trustscan scans nmap's 1,000 most common TCP ports plus the
data-store and administration ports of `rules/ports.yaml`, each listed with
its reason. nmap ranks ports by how often they were found open on the
internet, and the stores trustscan is for rank low (Redis 2,738th, MongoDB
2,165th, Memcached 4,705th in nmap 7.93), so nmap's default scan alone would
miss them. nmap cannot add ports to `--top-ports`: the union is one `-p` list.

nmap's list is nmap's own. Run with `--top-ports 1000` and no target, nmap
sends no packet and writes the ports it would scan in its XML `<scaninfo>`.
Should that fail, the list is read from the `nmap-services` file nmap reads,
ranked as nmap ranks it (frequency, then port number). Failing both, the scan
stops and asks for `-p`: it never quietly scans fewer ports.

`-p` replaces the default and is handed to nmap as written (nmap's own
syntax); `--extra-ports` (numbers and ranges only) adds to either.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
import jsonschema
from defusedxml import DefusedXmlException

from scanner.discovery.nmap_process import (
    NmapProcesses,
    nmap_binary,
    run_nmap,
    scratch_dir,
    stderr_problem,
)
from scanner.support.errors import InputError, ScanFailed
from scanner.support.files import FileReadError, read_bytes, read_text
from scanner.support.resources import builtin_rules_dir
from scanner.support.yaml_files import (
    FileProblem,
    FileProblems,
    YamlFileError,
    error_path,
    line_of,
    read_yaml,
    schema_validator,
)

log = logging.getLogger("trustscan")

TOP_COUNT = 1000
PORTS_FILE = "ports.yaml"  # data, not rules: the rule loader passes it over (DATA_FILES)
PORTS_SCHEMA = "ports.schema.json"
_MAX_PORTS_FILE_BYTES = 1024 * 1024
# nmap answers at once (it lists ports, it scans nothing); a minute leaves
# room for a loaded machine without hanging a scan on a broken binary.
LIST_TIMEOUT = 60.0
_MAX_LIST_XML_BYTES = 1024 * 1024
_MAX_SERVICES_BYTES = 16 * 1024 * 1024  # nmap 7.93's file is 1 MB
_PORT_SYNTAX = "give port numbers and ranges from 1 to 65535, e.g. 8080,9000-9010"
_ITEM = re.compile(r"(\d{1,5})(?:-(\d{1,5}))?")
# The options that change which file nmap ranks ports from: the listing run
# must see the same file as the scan.
_DATA_OPTIONS = ("--datadir", "--servicedb")


class PortKind(str, Enum):
    STORE = "store"  # a database or cache
    QUEUE = "queue"  # a message broker or coordination service
    ADMIN = "admin"  # an interface that controls machines or clusters


@dataclass(frozen=True)
class ListedPort:
    """One entry of the ports file: a port, what listens there and why it is scanned."""

    port: int
    service: str
    kind: PortKind
    reason: str
    source: str  # file:line


@dataclass(frozen=True)
class TopPorts:
    """nmap's most common TCP ports, and where the list came from."""

    ports: tuple[int, ...]  # ascending
    services_file: str = ""  # "": nmap listed them itself; else the nmap-services file read


@dataclass(frozen=True)
class PortChoice:
    """The ports of a scan: nmap's `-p` argument and how they were chosen, in words."""

    argument: str
    words: str


class PortsFileError(FileProblems):
    what = "ports file"


def ports_file() -> Path:
    return builtin_rules_dir() / PORTS_FILE


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "file"
    return f"{where}: {error.message}"


def load_listed_ports(path: Path | None = None) -> tuple[ListedPort, ...]:
    """The ports file's entries in file order; `PortsFileError` (file:line) on any problem."""
    path = path if path is not None else ports_file()
    try:
        node, data = read_yaml(path, _MAX_PORTS_FILE_BYTES, "ports file")
    except YamlFileError as exc:
        raise PortsFileError([exc.problem]) from None
    validator = schema_validator(builtin_rules_dir() / PORTS_SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path)))
    if errors:
        problems = [FileProblem(path, line_of(node, error_path(e)), _describe(e)) for e in errors]
        raise PortsFileError(sorted(problems, key=lambda p: p.line))
    listed: list[ListedPort] = []
    first: dict[int, int] = {}
    duplicates: list[FileProblem] = []
    for index, item in enumerate(data["ports"]):
        port = int(item["port"])
        line = line_of(node, ["ports", index, "port"])
        if port in first:
            message = f"ports.{index}.port: {port} is listed twice (first on line {first[port]})"
            duplicates.append(FileProblem(path, line, message))
            continue
        first[port] = line
        listed.append(
            ListedPort(
                port=port,
                service=item["service"].strip(),
                kind=PortKind(item["kind"]),
                reason=" ".join(item["reason"].split()),
                source=f"{path}:{line}",
            )
        )
    if duplicates:
        raise PortsFileError(duplicates)
    return tuple(listed)


def parse_ports(text: str, option: str) -> frozenset[int]:
    """The ports of a list of numbers and ranges ("8080,9000-9010"); an
    `InputError` naming `option` and the first item that is not one."""
    if not text.strip():
        raise InputError(f"{option}: no port given; {_PORT_SYNTAX}")
    ports: set[int] = set()
    for item in text.split(","):
        match = _ITEM.fullmatch(item.strip())
        if match is None:
            raise InputError(
                f"{option}: {_shown(item.strip())!r} is not a port or a range; {_PORT_SYNTAX}"
            )
        first, last = int(match[1]), int(match[2] or match[1])
        if not 1 <= first <= last <= 65535:
            raise InputError(f"{option}: {item.strip()!r} is out of range; {_PORT_SYNTAX}")
        ports.update(range(first, last + 1))
    return frozenset(ports)


def _shown(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compact(ports: Iterable[int]) -> str:
    """Ports as nmap's -p takes them, runs folded into ranges: "21-23,80,443"."""
    ordered = sorted(set(ports))
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[start], ordered[end]
        parts.append(str(first) if first == last else f"{first}-{last}")
        start = end + 1
    return ",".join(parts)


class _NoList(Exception):
    """Why one way of learning nmap's most common ports did not work."""


def nmap_top_ports(binary: str, nmap_args: Sequence[str] = (), count: int = TOP_COUNT) -> TopPorts:
    """nmap's `count` most common TCP ports, from nmap itself or else from its
    nmap-services file; `ScanFailed` when neither gives the whole list."""
    try:
        return TopPorts(listed_by_nmap(binary, nmap_args, count))
    except _NoList as exc:
        asked = str(exc)
    try:
        path = services_file(binary, nmap_args)
        ports = ranked_from_services(path, count)
    except _NoList as exc:
        raise ScanFailed(
            f"cannot tell which {count:,} ports nmap scans by default ({asked}; {exc}): "
            "give the ports to scan with -p"
        ) from None
    log.warning("nmap did not list its most common ports (%s): read them from %s", asked, path)
    return TopPorts(ports, str(path))


def _data_options(nmap_args: Sequence[str]) -> dict[str, str]:
    """--datadir and --servicedb among the user's nmap options, by name."""
    found: dict[str, str] = {}
    for index, arg in enumerate(nmap_args):
        name, equals, value = arg.partition("=")
        if name in _DATA_OPTIONS:
            if not equals:
                value = nmap_args[index + 1] if index + 1 < len(nmap_args) else ""
            found[name] = value
    return found


def listed_by_nmap(
    binary: str, nmap_args: Sequence[str] = (), count: int = TOP_COUNT
) -> tuple[int, ...]:
    """The ports `nmap --top-ports COUNT` scans, as nmap itself lists them."""
    # -sT: the same TCP list as the SYN scan root gets, and needs no privilege.
    data = [f"{name}={value}" for name, value in _data_options(nmap_args).items()]
    arguments = ["-sT", "--top-ports", str(count), "-n", *data]
    with scratch_dir() as work:
        ended = run_nmap(binary, arguments, Path(work), LIST_TIMEOUT, NmapProcesses())
        if ended.timed_out:
            raise _NoList(f"nmap --top-ports did not finish within {LIST_TIMEOUT:g}s")
        if ended.returncode != 0:
            said = stderr_problem(ended.stderr) or f"exit code {ended.returncode}"
            raise _NoList(f"nmap --top-ports failed: {said}")
        try:
            xml = read_bytes(ended.xml, _MAX_LIST_XML_BYTES, "nmap's XML")
        except FileReadError as exc:
            raise _NoList(f"nmap --top-ports wrote no XML: {exc.problem}") from None
    return _scaninfo_ports(xml, count)


def _scaninfo_ports(xml: bytes, count: int) -> tuple[int, ...]:
    try:
        root = SafeET.fromstring(xml)
    except (ParseError, DefusedXmlException) as exc:
        raise _NoList(f"nmap's XML cannot be read: {exc}") from None
    tcp = [info for info in root.iter("scaninfo") if info.get("protocol") == "tcp"]
    if len(tcp) != 1:
        raise _NoList(f"nmap's XML has {len(tcp)} TCP <scaninfo>, not one")
    services = tcp[0].get("services", "")
    try:
        ports = parse_ports(services, "nmap's list")
    except InputError as exc:
        raise _NoList(str(exc)) from None
    if len(ports) != count or tcp[0].get("numservices") != str(count):
        raise _NoList(f"nmap listed {len(ports):,} TCP ports, not {count:,}")
    return tuple(sorted(ports))


def services_file(binary: str, nmap_args: Sequence[str] = ()) -> Path:
    """The nmap-services file nmap reads, looked for where nmap looks."""
    options = _data_options(nmap_args)
    candidates: list[Path] = []
    if options.get("--servicedb"):
        candidates.append(Path(options["--servicedb"]))
    directories = [options.get("--datadir", ""), os.environ.get("NMAPDIR", "")]
    candidates += [Path(d) / "nmap-services" for d in directories if d]
    candidates.append(Path.home() / ".nmap" / "nmap-services")
    here = Path(binary).resolve().parent
    for directory in (here, here.parent / "share" / "nmap", Path("/usr/share/nmap")):
        candidates.append(directory / "nmap-services")
    candidates.append(Path("/usr/local/share/nmap/nmap-services"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise _NoList("no nmap-services file where nmap keeps its data")


def ranked_from_services(path: Path, count: int = TOP_COUNT) -> tuple[int, ...]:
    """The `count` TCP ports of an nmap-services file with the highest
    frequencies, ties broken by port number as nmap breaks them."""
    try:
        text = read_text(path, _MAX_SERVICES_BYTES, "nmap's services file")
    except FileReadError as exc:
        raise _NoList(f"{path}: {exc.problem}") from None
    ratios: dict[int, float] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 3:
            continue
        number, _, protocol = fields[1].partition("/")
        if protocol != "tcp" or not number.isdigit() or not 1 <= int(number) <= 65535:
            continue
        try:
            ratio = float(fields[2])
        except ValueError:
            continue
        if ratio > 0:
            ratios.setdefault(int(number), ratio)
    ranked = sorted(ratios, key=lambda port: (-ratios[port], port))
    if len(ranked) < count:
        raise _NoList(f"{path} ranks {len(ranked):,} TCP ports, fewer than {count:,}")
    return tuple(sorted(ranked[:count]))


def choose_ports(
    given: str | None,
    extra: str | None,
    nmap_path: str | None = None,
    nmap_args: Sequence[str] = (),
    listed: Sequence[ListedPort] | None = None,
) -> PortChoice:
    """The one `-p` list of a scan: `given` (-p, as written) or the default,
    with `extra` (--extra-ports) added."""
    added = parse_ports(extra, "--extra-ports") if extra is not None else frozenset()
    and_extra = f" and --extra-ports {compact(added)}" if added else ""
    if given is not None:
        if not given.strip():
            # nmap would be given no -p at all, and scan its own default.
            raise InputError(f"-p: no port given; {_PORT_SYNTAX} (or nmap's own -p syntax)")
        words = f"-p {given} (given)"
        if not added:
            return PortChoice(given, words)
        plain = _plain(given)
        if plain is None:
            # nmap's own syntax (T:/U: prefixes, names, "-"): the extra ports
            # go first, before any protocol prefix could claim them.
            return PortChoice(f"{compact(added)},{given}", words + and_extra)
        ports = plain | added
        return PortChoice(compact(ports), f"{words}{and_extra}: {_count(ports)}")
    top = nmap_top_ports(nmap_binary(nmap_path), nmap_args)
    stores = tuple(listed) if listed is not None else load_listed_ports()
    return default_choice(top, stores, added)


def default_choice(
    top: TopPorts, listed: Sequence[ListedPort], added: Collection[int] = ()
) -> PortChoice:
    """nmap's most common ports, the ports file's and the extra ones, in words."""
    file_ports = {item.port for item in listed}
    ports = set(top.ports) | file_ports | set(added)
    beyond = len(file_ports - set(top.ports))
    source = f", as {top.services_file} ranks them" if top.services_file else ""
    words = (
        f"nmap's {len(top.ports):,} most common TCP ports{source}, "
        f"{len(file_ports)} data-store and administration ports from "
        f"{_file_label(listed)} ({beyond} of them beyond nmap's list)"
    )
    if added:
        words += f" and --extra-ports {compact(added)}"
    return PortChoice(compact(ports), f"{words}: {_count(ports)}")


def _file_label(listed: Sequence[ListedPort]) -> str:
    """rules/ports.yaml, wherever the built-in rules are (a checkout or the wheel)."""
    if not listed:
        return "no ports file"
    path = Path(listed[0].source.rsplit(":", 1)[0])
    if path == ports_file():
        return f"rules/{PORTS_FILE}"
    return str(path)


def _count(ports: Collection[int]) -> str:
    return f"{len(ports):,} TCP port" + ("" if len(ports) == 1 else "s")


def _plain(given: str) -> frozenset[int] | None:
    """-p as ports, when it is only numbers and ranges; None for nmap's other syntax."""
    try:
        return parse_ports(given, "-p")
    except InputError:
        return None
