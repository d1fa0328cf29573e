"""Parse nmap's XML output into `Host`s, with defusedxml.

python-nmap's own parser drops `<extraports>`, keeps only the last CPE of a
service and loses the reasons, so trustscan reads the XML itself, both for
its own nmap runs and for files made elsewhere (`scan --nmap-xml`). The XML
is hostile input: entity declarations and external references are refused,
and the size is capped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from scanner.model import Host, PortStateCount, Reason, Service
from scanner.support.errors import InputError
from scanner.support.files import read_bytes

MAX_XML_BYTES = 256 * 1024 * 1024
# Text fields from a target end up in reports: bound them.
_MAX_FIELD = 512
_MAX_CPES = 16
_SERVICE_STATES = frozenset({"open", "open|filtered"})
# Longest port list kept verbatim on a host.
_SHORT_PORT_LIST = 60


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


def _text(value: str | None) -> str:
    if not value:
        return ""
    # Control characters from a banner have no business in a report.
    cleaned = "".join(ch if ch.isprintable() else " " for ch in value)
    return cleaned[:_MAX_FIELD]


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def parse_bytes(data: bytes, origin: str) -> NmapReport:
    """Parse nmap XML; `origin` names the file or run in error messages."""
    if len(data) > MAX_XML_BYTES:
        raise NmapXmlError(f"{origin}: larger than {MAX_XML_BYTES} bytes")
    if not data.strip():
        raise NmapXmlError(f"{origin}: empty: nmap wrote no XML")
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
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
    if root.tag != "nmaprun":
        raise NmapXmlError(f"{origin}: not an nmap XML report (root element <{root.tag}>)")
    return _report(root)


def parse_file(path: Path) -> NmapReport:
    return parse_bytes(read_bytes(path, MAX_XML_BYTES, "nmap XML"), str(path))


def _report(root: Element) -> NmapReport:
    scanned = ",".join(
        f"{info.get('protocol', '?')}:{info.get('services', '')}"
        for info in root.findall("scaninfo")
    )
    finished = root.find("runstats/finished")
    error = ""
    if finished is not None and finished.get("exit") == "error":
        error = _text(finished.get("errormsg")) or "nmap reported an error"
    probed = probed_label(root.findall("scaninfo"))
    hosts = tuple(
        replace(h, probed_ports=probed)
        for h in (_host(el) for el in root.findall("host"))
        if h is not None
    )
    return NmapReport(
        version=_text(root.get("version")),
        args=_text(root.get("args")),
        scanned_ports=scanned,
        hosts=hosts,
        finished=finished is not None,
        error=error,
    )


def probed_label(infos: list[Element]) -> str:
    """`tcp 22,80,8080` for a short list; `1000 tcp ports (1,3-4,6-7,9,...)` otherwise."""
    parts = []
    for info in infos:
        protocol = _text(info.get("protocol")) or "?"
        services = _text(info.get("services"))
        if len(services) <= _SHORT_PORT_LIST:
            parts.append(f"{protocol} {services}")
        else:
            head = services[:_SHORT_PORT_LIST].rsplit(",", 1)[0]
            parts.append(f"{_int(info.get('numservices'))} {protocol} ports ({head},...)")
    return "; ".join(parts)


def _host(element: Element) -> Host | None:
    address = ""
    for addr in element.findall("address"):
        if addr.get("addrtype") in ("ipv4", "ipv6"):
            address = _text(addr.get("addr"))
            break
    if not address:
        return None
    status = element.find("status")
    hostnames = tuple(
        _text(name.get("name"))
        for name in element.findall("hostnames/hostname")
        if name.get("name")
    )
    services: list[Service] = []
    others: dict[str, dict[str, int]] = {}
    for port in element.findall("ports/port"):
        state_el = port.find("state")
        state = _text(state_el.get("state")) if state_el is not None else "unknown"
        reason = _text(state_el.get("reason")) if state_el is not None else ""
        if state in _SERVICE_STATES:
            services.append(_service(port, state, reason))
        else:
            counts = others.setdefault(state, {})
            counts[reason] = counts.get(reason, 0) + 1
    return Host(
        address=address,
        status=_text(status.get("state")) if status is not None else "unknown",
        status_reason=_text(status.get("reason")) if status is not None else "",
        hostnames=hostnames,
        services=tuple(services),
        other_ports=tuple(
            PortStateCount(
                state,
                sum(reasons.values()),
                tuple(Reason(r, c) for r, c in sorted(reasons.items())),
            )
            for state, reasons in sorted(others.items())
        ),
        extraports=tuple(_extraports(el) for el in element.findall("ports/extraports")),
    )


def _service(port: Element, state: str, reason: str) -> Service:
    svc = port.find("service")
    attrs: dict[str, str] = dict(svc.attrib) if svc is not None else {}
    get = attrs.get
    cpes = tuple(_text(c.text) for c in (svc.findall("cpe") if svc is not None else []) if c.text)[
        :_MAX_CPES
    ]
    return Service(
        port=_int(port.get("portid")),
        protocol=_text(port.get("protocol")),
        state=state,
        reason=reason,
        name=_text(get("name")),
        product=_text(get("product")),
        version=_text(get("version")),
        extrainfo=_text(get("extrainfo")),
        ostype=_text(get("ostype")),
        tunnel=_text(get("tunnel")),
        method=_text(get("method")),
        conf=_int(get("conf")),
        cpes=cpes,
    )


def _extraports(element: Element) -> PortStateCount:
    reasons = tuple(
        Reason(_text(r.get("reason")), _int(r.get("count")))
        for r in element.findall("extrareasons")
    )
    return PortStateCount(_text(element.get("state")), _int(element.get("count")), reasons)
