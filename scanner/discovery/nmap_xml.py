"""Parse nmap's XML output into `Host`s, streaming, with defusedxml.

python-nmap's own parser drops `<extraports>`, keeps only the last CPE of a
service and loses the reasons, so trustscan reads the XML itself, both for
its own nmap runs and for files made elsewhere (`scan --nmap-xml`). The XML
is hostile input: entity declarations and external references are refused;
the size, the nesting depth, the length of one token and the number of hosts
are capped; and each host is built as its `</host>` closes, so the document is
never held whole. A host or port that does not validate (address, port
number, protocol, state) or repeats one already read is skipped, and
`NmapReport.skipped` says which and why.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import XMLParserType

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from scanner.model import Host, PortStateCount, Reason, Service
from scanner.support.errors import InputError
from scanner.support.files import FileReadError

MAX_XML_BYTES = 256 * 1024 * 1024
# nmap nests about eight deep (NSE script tables a few more).
MAX_DEPTH = 64
# One tag, attribute value, comment or declaration: nmap's longest are port
# lists of a few hundred kB. This is what expat buffers; text it hands on (or
# drops, outside a <cpe>) as it goes.
MAX_TOKEN_BYTES = 4 * 1024 * 1024
# The hosts and services are returned in memory (about 0.5 kB each): a
# bigger scan belongs in several files.
MAX_HOSTS = 1_000_000
MAX_SERVICES = 1_000_000
# What is read and handed to expat at a time.
_CHUNK_BYTES = 256 * 1024
_PROGRESS_SECONDS = 0.25
# Text fields from a target end up in reports: bound them.
_MAX_FIELD = 512
_MAX_PORT_LIST = 8192
_MAX_CPES = 16
_MAX_HOSTNAMES = 16
_MAX_ADDRESSES = 4
_MAX_EXTRAPORTS = 16
_MAX_REASONS = 16
_MAX_SCANINFO = 16
# Skipped items listed one by one; the rest are counted.
_MAX_NOTES = 20
_MAX_QUOTED = 40
# Every port of tcp, udp and sctp.
_MAX_PORT_COUNT = 3 * 65535
_PROTOCOLS = frozenset({"tcp", "udp", "sctp"})
_PORT_STATES = frozenset(
    {"open", "closed", "filtered", "unfiltered", "open|filtered", "closed|filtered"}
)
_SERVICE_STATES = frozenset({"open", "open|filtered"})
# Longest port list kept verbatim on a host.
_SHORT_PORT_LIST = 60
_DIGITS = re.compile(r"[0-9]{1,7}")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")
_SCOPE_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")

Progress = Callable[[int, int], None]


class NmapXmlError(InputError):
    """The XML is not a complete, well-formed, safe nmap report."""


@dataclass(frozen=True)
class NmapReport:
    version: str
    args: str
    scanned_ports: str
    hosts: tuple[Host, ...]
    finished: bool
    error: str = ""
    # What was dropped and why, each "ORIGIN:LINE: <what> skipped: <why>" (the
    # first 20, then "and N more"), and how many hosts and ports that was.
    skipped: tuple[str, ...] = ()
    skipped_hosts: int = 0
    skipped_ports: int = 0


def _text(value: str | None, limit: int = _MAX_FIELD) -> str:
    if not value:
        return ""
    value = value[:limit]
    if value.isprintable():
        return value
    # Control characters from a banner have no business in a report.
    return "".join(ch if ch.isprintable() else " " for ch in value)


def _shared(value: str | None) -> str:
    """`_text`, one copy per distinct value: banners repeat across hosts, and
    a 100,000-host report holds far fewer distinct strings than fields."""
    return sys.intern(_text(value))


def _quoted(value: str) -> str:
    text = _text(value, _MAX_QUOTED + 1)
    return f"'{text[:_MAX_QUOTED]}...'" if len(text) > _MAX_QUOTED else f"'{text}'"


def _int(value: str | None, maximum: int) -> int | None:
    """A decimal count in 0..maximum, or None."""
    if value is None or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if number <= maximum else None


def parse_bytes(data: bytes, origin: str) -> NmapReport:
    """Parse nmap XML; `origin` names the file or run in error messages."""
    if len(data) > MAX_XML_BYTES:
        raise NmapXmlError(f"{origin}: larger than {MAX_XML_BYTES} bytes")
    chunks = (data[i : i + _CHUNK_BYTES] for i in range(0, len(data), _CHUNK_BYTES))
    return _parse(chunks, origin)


def parse_file(path: Path, progress: Progress | None = None) -> NmapReport:
    """Parse an nmap XML file as it is read; `progress(bytes_read, total_bytes)`
    is called at most four times a second and once at the end."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FileReadError(path, 1, f"cannot read nmap XML: {exc.strerror}") from None
    with handle:
        return _parse(_file_chunks(handle, path, progress), str(path))


def _file_chunks(handle: BinaryIO, path: Path, progress: Progress | None) -> Iterator[bytes]:
    too_large = f"nmap XML is larger than {MAX_XML_BYTES} bytes"
    try:
        total = os.fstat(handle.fileno()).st_size
        if total > MAX_XML_BYTES:
            raise FileReadError(path, 1, too_large)
        done = 0
        reported = time.monotonic()
        while chunk := handle.read(_CHUNK_BYTES):
            done += len(chunk)
            if done > MAX_XML_BYTES:
                raise FileReadError(path, 1, too_large)
            yield chunk
            # After the chunk was parsed: the count is what is done.
            if progress is not None and time.monotonic() - reported >= _PROGRESS_SECONDS:
                progress(done, max(total, done))
                reported = time.monotonic()
    except OSError as exc:
        raise FileReadError(path, 1, f"cannot read nmap XML: {exc.strerror}") from None
    if progress is not None:
        progress(done, max(total, done))


def _parse(chunks: Iterable[bytes], origin: str) -> NmapReport:
    collector = _Collector(origin)
    # UTF-8 whatever the declaration says (nmap writes UTF-8): a declared
    # encoding would have pyexpat look the name up among Python's codecs,
    # which answers "rot13" or "utf-7" with a LookupError or ValueError.
    parser = SafeET.DefusedXMLParser(
        target=collector,
        encoding="utf-8",
        forbid_dtd=False,
        forbid_entities=True,
        forbid_external=True,
    )
    # The defused parser's expat keeps its entity and external-reference
    # guards; elements go straight to the collector, attributes as a dict,
    # skipping the pure-Python XMLParser's per-name fixing (half the time),
    # and text only while a <cpe> is open (the collector switches it).
    expat = parser.parser
    expat.ordered_attributes = False
    expat.StartElementHandler = collector.start
    expat.EndElementHandler = collector.end
    expat.CharacterDataHandler = None
    expat.StartDoctypeDeclHandler = collector.doctype
    collector.expat = expat
    seen_content = False
    fed = 0
    try:
        for chunk in chunks:
            seen_content = seen_content or bool(chunk.strip())
            parser.feed(chunk)
            fed += len(chunk)
            # expat holds what follows the start of the token it has not finished.
            if fed - expat.CurrentByteIndex > MAX_TOKEN_BYTES:
                raise NmapXmlError(
                    f"{origin}:{expat.CurrentLineNumber}: an XML token (tag, attribute "
                    f"value, comment or declaration) longer than {MAX_TOKEN_BYTES} bytes: "
                    "not an nmap report"
                )
        if not seen_content:
            raise NmapXmlError(f"{origin}: empty: nmap wrote no XML")
        parser.close()
    except DefusedXmlException as exc:
        raise NmapXmlError(
            f"{origin}: refused: the XML declares entities or external references ({exc})"
        ) from None
    except ParseError as exc:
        line, column = exc.position
        if "no element found" in str(exc) or "unclosed token" in str(exc):
            raise NmapXmlError(
                f"{origin}:{line}: truncated nmap XML (the file ends at column {column}); "
                "was the scan interrupted?"
            ) from None
        raise NmapXmlError(f"{origin}:{line}: not well-formed XML ({exc})") from None
    return collector.report()


class _Notes:
    """What was skipped: the first few said, all counted."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.said: list[str] = []
        self.count = 0

    def add(self, line: int, text: str) -> None:
        self.count += 1
        if len(self.said) < _MAX_NOTES:
            self.said.append(f"{self.origin}:{line}: {text}")

    def result(self) -> tuple[str, ...]:
        more = self.count - len(self.said)
        return (*self.said, f"and {more} more") if more else tuple(self.said)


@dataclass
class _ExtraPorts:
    state: str
    count: int
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class _Port:
    """A `<port>` whose number and protocol are valid and new on its host."""

    line: int
    number: int
    protocol: str
    state: Mapping[str, str] | None = None
    service: Mapping[str, str] | None = None
    cpes: list[str] = field(default_factory=list)


@dataclass
class _HostDraft:
    line: int
    addresses: list[Mapping[str, str]] = field(default_factory=list)
    status: Mapping[str, str] | None = None
    hostnames: list[str] = field(default_factory=list)
    ports: set[tuple[str, int]] = field(default_factory=set)
    services: list[Service] = field(default_factory=list)
    others: dict[str, dict[str, int]] = field(default_factory=dict)
    extraports: list[_ExtraPorts] = field(default_factory=list)


class _Collector:
    """The parser's target: keeps the run's facts and builds each `Host` as its
    `</host>` closes; everything else in the document is passed over."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.expat: XMLParserType | None = None
        self.path: list[str] = []
        self.version = ""
        self.args = ""
        self.scaninfos: list[Mapping[str, str]] = []
        self.finished: Mapping[str, str] | None = None
        self.hosts: list[Host] = []
        self.addresses: set[str] = set()
        self.notes = _Notes(origin)
        self.skipped_hosts = 0
        self.skipped_ports = 0
        self.services = 0
        self.probed = ""
        self.host: _HostDraft | None = None
        self.port: _Port | None = None
        self.extra: _ExtraPorts | None = None
        self.in_service = False
        self.cpe: list[str] | None = None
        # Hosts alike have equal services and port counts: one copy of each
        # (the model is immutable), not one per host of a 100,000-host file.
        self.alike: dict[object, Any] = {}

    def line(self) -> int:
        return self.expat.CurrentLineNumber if self.expat is not None else 1

    # The expat handlers.

    def doctype(
        self, name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool
    ) -> None:
        # Declarations in the document can give every element huge default
        # attributes, entities or not; nmap writes a bare <!DOCTYPE nmaprun>.
        if has_internal_subset:
            raise NmapXmlError(
                f"{self.origin}:{self.line()}: refused: the XML declares a DTD internal "
                "subset (entities or other declarations), which nmap never writes"
            )

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        depth = len(self.path)
        if depth >= MAX_DEPTH:
            raise NmapXmlError(
                f"{self.origin}:{self.line()}: elements nested more than {MAX_DEPTH} deep: "
                "not an nmap report"
            )
        self.path.append(tag)
        if depth == 0:
            if tag != "nmaprun":
                raise NmapXmlError(
                    f"{self.origin}:{self.line()}: not an nmap XML report "
                    f"(root element <{_text(tag, _MAX_QUOTED)}>)"
                )
            self.version = _text(attrib.get("version"))
            self.args = _text(attrib.get("args"), _MAX_PORT_LIST)
        elif depth == 1:
            if tag == "host":
                self.host = _HostDraft(self.line())
            elif tag == "scaninfo":
                if len(self.scaninfos) < _MAX_SCANINFO:
                    self.scaninfos.append(attrib)
                    self.probed = probed_label(self.scaninfos)
                else:
                    self.notes.add(self.line(), f"<scaninfo> beyond the first {_MAX_SCANINFO}")
        elif self.host is not None:
            self._host_start(self.host, depth, tag, attrib)
        elif depth == 2 and tag == "finished" and self.path[1] == "runstats" and not self.finished:
            self.finished = attrib

    def end(self, tag: str) -> None:
        depth = len(self.path) - 1
        self.path.pop()
        if self.host is None:
            return
        if depth == 1:
            self._host_end(self.host)
            self.host = None
        elif depth == 3:
            if tag == "port" and self.port is not None:
                self._port_end(self.host, self.port)
            elif tag == "extraports" and self.extra is not None:
                self.host.extraports.append(self.extra)
            self.port = self.extra = None
            self.in_service = False
        elif depth == 4 and tag == "service":
            self.in_service = False
        elif depth == 5 and self.cpe is not None:
            if self.port is not None and (cpe := _shared("".join(self.cpe).strip())):
                self.port.cpes.append(cpe)
            self.cpe = None
            self._text_events(None)

    def _text_events(self, handler: Callable[[str], None] | None) -> None:
        if self.expat is not None:
            self.expat.CharacterDataHandler = handler

    def data(self, text: str) -> None:
        # Only a CPE's text is kept, and no more of it than a field holds.
        if self.cpe is not None and sum(map(len, self.cpe)) <= _MAX_FIELD:
            self.cpe.append(text[: _MAX_FIELD + 1])

    # Inside a <host>.

    def _host_start(self, host: _HostDraft, depth: int, tag: str, attrib: dict[str, str]) -> None:
        parent = self.path[depth - 1]
        if depth == 2:
            ip_address = attrib.get("addrtype") in ("ipv4", "ipv6")
            if tag == "address" and ip_address and len(host.addresses) < _MAX_ADDRESSES:
                host.addresses.append(attrib)
            elif tag == "status" and host.status is None:
                host.status = attrib
        elif depth == 3 and parent == "hostnames" and tag == "hostname":
            self._hostname(host, attrib.get("name"))
        elif depth == 3 and parent == "ports":
            if tag == "port":
                self.port = self._port_start(host, attrib)
            elif tag == "extraports":
                self.extra = self._extraports(host, attrib)
        elif depth == 4 and self.port is not None and parent == "port":
            if tag == "state" and self.port.state is None:
                self.port.state = attrib
            elif tag == "service" and self.port.service is None:
                self.port.service = attrib
                self.in_service = True
        elif depth == 4 and self.extra is not None and tag == "extrareasons":
            self._extrareason(self.extra, attrib)
        elif (
            depth == 5
            and tag == "cpe"
            and self.in_service
            and self.port is not None
            and len(self.port.cpes) < _MAX_CPES
        ):
            self.cpe = []
            self._text_events(self.data)

    def _hostname(self, host: _HostDraft, name: str | None) -> None:
        if not name:
            return
        if not _HOSTNAME.fullmatch(name):
            self.notes.add(self.line(), f"hostname {_quoted(name)} skipped: not a DNS name")
        elif name not in host.hostnames and len(host.hostnames) < _MAX_HOSTNAMES:
            host.hostnames.append(name)

    def _skip_port(self, what: str, why: str) -> None:
        self.skipped_ports += 1
        self.notes.add(self.line(), f"port {what} skipped: {why}".replace("  ", " "))

    def _port_start(self, host: _HostDraft, attrib: Mapping[str, str]) -> _Port | None:
        portid = attrib.get("portid")
        protocol = attrib.get("protocol", "")
        if portid is None:
            self._skip_port("", "no portid")
            return None
        number = _int(portid, 65535)
        if number is None or number == 0:
            self._skip_port(_quoted(portid), "not a port number (1-65535)")
            return None
        if protocol not in _PROTOCOLS:
            self._skip_port(f"{number} {_quoted(protocol)}", "protocol not tcp, udp or sctp")
            return None
        if (protocol, number) in host.ports:
            self._skip_port(f"{protocol}/{number}", "repeated on its host, kept the first")
            return None
        host.ports.add((protocol, number))
        return _Port(self.line(), number, protocol)

    def _port_end(self, host: _HostDraft, port: _Port) -> None:
        state = _text(port.state.get("state")) if port.state is not None else "unknown"
        if port.state is not None and state not in _PORT_STATES:
            self.skipped_ports += 1
            self.notes.add(
                port.line,
                f"port {port.protocol}/{port.number} skipped: "
                f"state {_quoted(state)} is not an nmap port state",
            )
            return
        reason = _shared(port.state.get("reason")) if port.state is not None else ""
        if state in _SERVICE_STATES:
            self.services += 1
            if self.services > MAX_SERVICES:
                raise NmapXmlError(
                    f"{self.origin}:{port.line}: more than {MAX_SERVICES} open ports: "
                    "split the scan into several files"
                )
            service = _service(port, state, reason)
            host.services.append(self.alike.setdefault(service, service))
        else:
            counts = host.others.setdefault(state, {})
            counts[reason] = counts.get(reason, 0) + 1

    def _extraports(self, host: _HostDraft, attrib: Mapping[str, str]) -> _ExtraPorts | None:
        state = attrib.get("state", "")
        count = _int(attrib.get("count"), _MAX_PORT_COUNT)
        if len(host.extraports) >= _MAX_EXTRAPORTS:
            why = f"more than {_MAX_EXTRAPORTS} on its host"
        elif state not in _PORT_STATES:
            why = f"state {_quoted(state)} is not an nmap port state"
        elif count is None:
            why = f"count {_quoted(attrib.get('count', ''))} is not a port count"
        else:
            return _ExtraPorts(state, count)
        self.notes.add(self.line(), f"<extraports> skipped: {why}")
        return None

    def _extrareason(self, extra: _ExtraPorts, attrib: Mapping[str, str]) -> None:
        count = _int(attrib.get("count"), _MAX_PORT_COUNT)
        if count is None:
            why = f"count {_quoted(attrib.get('count', ''))} is not a port count"
        elif len(extra.reasons) >= _MAX_REASONS:
            why = f"more than {_MAX_REASONS} in one <extraports>"
        else:
            extra.reasons.append(Reason(_shared(attrib.get("reason")), count))
            return
        self.notes.add(self.line(), f"<extrareasons> skipped: {why}")

    def _host_end(self, draft: _HostDraft) -> None:
        address, problem = _address(draft.addresses)
        if address in self.addresses:
            problem = f"{address} repeated, kept the first"
        if problem:
            self.skipped_hosts += 1
            self.notes.add(draft.line, f"host skipped: {problem}")
            return
        if len(self.hosts) >= MAX_HOSTS:
            raise NmapXmlError(
                f"{self.origin}:{draft.line}: more than {MAX_HOSTS} hosts: "
                "split the scan into several files"
            )
        self.addresses.add(address)
        status = draft.status or {}
        other_ports = tuple(
            PortStateCount(
                state,
                sum(reasons.values()),
                tuple(Reason(r, c) for r, c in sorted(reasons.items())),
            )
            for state, reasons in sorted(draft.others.items())
        )
        extraports = tuple(
            PortStateCount(e.state, e.count, tuple(e.reasons)) for e in draft.extraports
        )
        services = tuple(draft.services)
        self.hosts.append(
            Host(
                address=address,
                status=_shared(status.get("state")) or "unknown",
                status_reason=_shared(status.get("reason")),
                hostnames=tuple(draft.hostnames),
                services=self.alike.setdefault(services, services),
                other_ports=self.alike.setdefault(other_ports, other_ports),
                extraports=self.alike.setdefault(extraports, extraports),
                probed_ports=self.probed,
            )
        )

    def report(self) -> NmapReport:
        finished = self.finished
        error = ""
        if finished is not None:
            code = finished.get("exit", "success")
            if code == "error":
                error = _text(finished.get("errormsg")) or "nmap reported an error"
            elif code != "success":
                error = f"nmap finished with exit {_quoted(code)}"
        hosts = tuple(self.hosts)
        # A <scaninfo> after the first host (never in nmap's own output).
        if any(h.probed_ports != self.probed for h in hosts):
            hosts = tuple(replace(h, probed_ports=self.probed) for h in hosts)
        return NmapReport(
            version=self.version,
            args=self.args,
            scanned_ports=",".join(
                f"{_text(info.get('protocol')) or '?'}:"
                f"{_text(info.get('services'), _MAX_PORT_LIST)}"
                for info in self.scaninfos
            ),
            hosts=hosts,
            finished=finished is not None,
            error=error,
            skipped=self.notes.result(),
            skipped_hosts=self.skipped_hosts,
            skipped_ports=self.skipped_ports,
        )


def _address(addresses: list[Mapping[str, str]]) -> tuple[str, str]:
    """The host's IP address in its canonical form, or why there is none."""
    if not addresses:
        return "", "no IPv4 or IPv6 address"
    first = addresses[0]
    kind = first.get("addrtype", "")
    raw = first.get("addr", "")
    name = "IPv4" if kind == "ipv4" else "IPv6"
    invalid = f"address {_quoted(raw)} is not an {name} address"
    if len(raw) > 64:
        return "", invalid
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    try:
        ip = ipaddress.IPv4Address(raw) if kind == "ipv4" else ipaddress.IPv6Address(raw)
    except ValueError:
        return "", invalid
    scope = getattr(ip, "scope_id", None)
    if scope is not None and not _SCOPE_ID.fullmatch(scope):
        return "", f"address {_quoted(raw)} has an invalid scope"
    return str(ip), ""


def probed_label(infos: Iterable[Mapping[str, str]]) -> str:
    """`tcp 22,80,8080` for a short list; `1000 tcp ports (1,3-4,6-7,9,...)` otherwise."""
    parts = []
    for info in infos:
        protocol = _text(info.get("protocol")) or "?"
        services = _text(info.get("services"), _SHORT_PORT_LIST + 1)
        if len(services) <= _SHORT_PORT_LIST:
            parts.append(f"{protocol} {services}")
        else:
            head = services[:_SHORT_PORT_LIST].rsplit(",", 1)[0]
            count = _int(info.get("numservices"), _MAX_PORT_COUNT) or 0
            parts.append(f"{count} {protocol} ports ({head},...)")
    return "; ".join(parts)


def _service(port: _Port, state: str, reason: str) -> Service:
    get = (port.service or {}).get
    return Service(
        port=port.number,
        protocol=port.protocol,
        state=state,
        reason=reason,
        name=_shared(get("name")),
        product=_shared(get("product")),
        version=_shared(get("version")),
        extrainfo=_shared(get("extrainfo")),
        ostype=_shared(get("ostype")),
        tunnel=_shared(get("tunnel")),
        method=_shared(get("method")),
        conf=_int(get("conf"), 10) or 0,
        cpes=tuple(port.cpes),
    )
