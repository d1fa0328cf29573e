"""Time and size the nmap XML parser on a synthetic N-host report.

Writes an nmap XML file of N hosts (default 100,000; each up, with a PTR name,
three open services with CPEs, a closed port, an `<extraports>`, OS guesses and
times, as `nmap -sV -O --reason` writes them) to a temporary file, then parses
it in a fresh subprocess per approach and reports the parse wall time and the
peak resident memory of that process (ru_maxrss, less the interpreter's own):

- `old`: the whole file read and turned into one tree with
  `defusedxml.ElementTree.fromstring`, then walked (what trustscan did before
  the parser streamed; a copy of that walk is below, or `--old-rev REV` loads
  `scanner/discovery/nmap_xml.py` from a git revision instead);
- `new`: `scanner.discovery.nmap_xml.parse_file`, streaming.

    python -m bench.nmap_xml_parse [-n 100000] [--services 3] [--rounds 1]
        [--only old|new] [--old-rev REV] [--keep PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

REPO = Path(__file__).resolve().parent.parent
_PRODUCTS = (
    ("ssh", "OpenSSH", "9.2p1 Debian 2+deb12u3", "protocol 2.0", "cpe:/a:openbsd:openssh:9.2p1"),
    ("http", "Apache httpd", "2.4.62", "(Debian)", "cpe:/a:apache:http_server:2.4.62"),
    ("https", "nginx", "1.22.1", "", "cpe:/a:igor_sysoev:nginx:1.22.1"),
    ("mysql", "MariaDB", "5.5.5-10.11.6-MariaDB-0+deb12u1", "", "cpe:/a:mariadb:mariadb"),
    ("redis", "Redis key-value store", "7.0.15", "", "cpe:/a:redislabs:redis:7.0.15"),
)
_PORTS = (22, 80, 443, 3306, 6379)


def write_report(path: Path, hosts: int, services: int) -> None:
    """An nmap XML report of `hosts` hosts in 10.0.0.0/8, written as a stream."""
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
            '<nmaprun scanner="nmap" args="nmap -sV -O --reason -oX - 10.0.0.0/8" '
            'start="1795606393" version="7.93" xmloutputversion="1.05">\n'
            '<scaninfo type="syn" protocol="tcp" numservices="1000" '
            'services="1,3-4,6-7,9,13,17,19-26,30,32-33,37,42-43,49,53,70,79-85"/>\n'
            '<verbose level="0"/>\n<debugging level="0"/>\n'
        )
        for n in range(hosts):
            address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            out.write(
                f'<host starttime="1795606393" endtime="1795606399">'
                f'<status state="up" reason="echo-reply" reason_ttl="63"/>\n'
                f'<address addr="{address}" addrtype="ipv4"/>\n'
                f'<address addr="52:54:00:{n >> 16 & 255:02X}:{n >> 8 & 255:02X}:'
                f'{n & 255:02X}" addrtype="mac" vendor="QEMU virtual NIC"/>\n'
                f'<hostnames><hostname name="host-{n}.example.internal" type="PTR"/>'
                f"</hostnames>\n<ports>"
                '<extraports state="closed" count="995">'
                '<extrareasons reason="reset" count="995" proto="tcp" ports="1,3-4,6-7"/>'
                "</extraports>\n"
            )
            for i in range(services):
                name, product, version, extra, cpe = _PRODUCTS[i % len(_PRODUCTS)]
                port = _PORTS[i % len(_PORTS)] + 10000 * (i // len(_PORTS))
                out.write(
                    f'<port protocol="tcp" portid="{port}"><state state="open" '
                    f'reason="syn-ack" reason_ttl="63"/><service name="{name}" '
                    f'product="{product}" version="{version}" extrainfo="{extra}" '
                    f'ostype="Linux" method="probed" conf="10"><cpe>{cpe}</cpe>'
                    "<cpe>cpe:/o:linux:linux_kernel</cpe></service></port>\n"
                )
            out.write(
                '<port protocol="tcp" portid="8080"><state state="closed" reason="reset" '
                'reason_ttl="63"/><service name="http-proxy" method="table" conf="3"/></port>\n'
                '</ports>\n<os><portused state="open" proto="tcp" portid="22"/>'
                '<osmatch name="Linux 5.0 - 5.14" accuracy="100" line="67000">'
                '<osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="5.X" '
                'accuracy="100"><cpe>cpe:/o:linux:linux_kernel:5</cpe></osclass></osmatch>'
                "</os>\n"
                '<uptime seconds="1209600" lastboot="Wed Nov 11 11:33:19 2026"/>\n'
                '<distance value="2"/>\n<times srtt="412" rttvar="104" to="100000"/>\n'
                "</host>\n"
            )
        out.write(
            '<runstats><finished time="1795606999" timestr="Wed Nov 25 11:43:19 2026" '
            f'elapsed="606.0" summary="Nmap done; {hosts} IP addresses ({hosts} hosts up)" '
            f'exit="success"/><hosts up="{hosts}" down="0" total="{hosts}"/></runstats>\n'
            "</nmaprun>\n"
        )


def _old_parse(path: Path) -> int:
    """The parser before it streamed: one tree for the whole file, then walked
    (scanner/discovery/nmap_xml.py up to e8ee5d9, without its error paths)."""
    import defusedxml.ElementTree as SafeET

    from scanner.model import Host, PortStateCount, Reason, Service

    def text(value: str | None) -> str:
        if not value:
            return ""
        return "".join(ch if ch.isprintable() else " " for ch in value)[:512]

    def integer(value: str | None) -> int:
        try:
            return int(value) if value is not None else 0
        except ValueError:
            return 0

    def service(port: Element, state: str, reason: str) -> Service:
        svc = port.find("service")
        get = (dict(svc.attrib) if svc is not None else {}).get
        cpes = svc.findall("cpe") if svc is not None else []
        return Service(
            port=integer(port.get("portid")),
            protocol=text(port.get("protocol")),
            state=state,
            reason=reason,
            name=text(get("name")),
            product=text(get("product")),
            version=text(get("version")),
            extrainfo=text(get("extrainfo")),
            ostype=text(get("ostype")),
            tunnel=text(get("tunnel")),
            method=text(get("method")),
            conf=integer(get("conf")),
            cpes=tuple(text(c.text) for c in cpes if c.text)[:16],
        )

    def host(element: Element) -> Host | None:
        address = next(
            (
                text(a.get("addr"))
                for a in element.findall("address")
                if a.get("addrtype") in ("ipv4", "ipv6")
            ),
            "",
        )
        if not address:
            return None
        status = element.find("status")
        services: list[Service] = []
        others: dict[str, dict[str, int]] = {}
        for port in element.findall("ports/port"):
            state_el = port.find("state")
            state = text(state_el.get("state")) if state_el is not None else "unknown"
            reason = text(state_el.get("reason")) if state_el is not None else ""
            if state in ("open", "open|filtered"):
                services.append(service(port, state, reason))
            else:
                counts = others.setdefault(state, {})
                counts[reason] = counts.get(reason, 0) + 1
        return Host(
            address=address,
            status=text(status.get("state")) if status is not None else "unknown",
            status_reason=text(status.get("reason")) if status is not None else "",
            hostnames=tuple(
                text(n.get("name")) for n in element.findall("hostnames/hostname") if n.get("name")
            ),
            services=tuple(services),
            other_ports=tuple(
                PortStateCount(
                    s, sum(r.values()), tuple(Reason(k, c) for k, c in sorted(r.items()))
                )
                for s, r in sorted(others.items())
            ),
            extraports=tuple(
                PortStateCount(
                    text(e.get("state")),
                    integer(e.get("count")),
                    tuple(
                        Reason(text(r.get("reason")), integer(r.get("count")))
                        for r in e.findall("extrareasons")
                    ),
                )
                for e in element.findall("ports/extraports")
            ),
        )

    root = SafeET.fromstring(
        path.read_bytes(), forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    hosts = [h for h in (host(el) for el in root.findall("host")) if h is not None]
    return len(hosts)


def _old_rev_parse(path: Path, rev: str) -> int:
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:scanner/discovery/nmap_xml.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.TemporaryDirectory() as tmp:
        module_path = Path(tmp) / "old_nmap_xml.py"
        module_path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("old_nmap_xml", module_path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return len(module.parse_file(path).hosts)


def _new_parse(path: Path) -> int:
    from scanner.discovery.nmap_xml import parse_file

    calls: list[tuple[int, int]] = []
    report = parse_file(path, progress=lambda done, total: calls.append((done, total)))
    assert calls
    assert calls[-1][0] == calls[-1][1] == path.stat().st_size
    return len(report.hosts)


def _child(approach: str, path: Path, rev: str) -> None:
    """In a fresh process: parse once, print the measures as JSON."""
    # Imports out of the measure.
    importlib.import_module("scanner.discovery.nmap_xml")
    importlib.import_module("defusedxml.ElementTree")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu = time.perf_counter(), time.process_time()
    if approach == "new":
        hosts = _new_parse(path)
    elif rev:
        hosts = _old_rev_parse(path, rev)
    else:
        hosts = _old_parse(path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "peak_kb": peak, "base_kb": base, "hosts": hosts}
        )
    )


def _measure(approach: str, path: Path, rev: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-m", "bench.nmap_xml_parse", "--child", approach, str(path)]
        + (["--old-rev", rev] if rev else []),
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--hosts", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=3, help="open services per host")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", choices=("old", "new"))
    parser.add_argument("--old-rev", default="", help="git revision whose parser is 'old'")
    parser.add_argument("--keep", type=Path, help="write the XML here and keep it")
    parser.add_argument("--child", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.file, args.old_rev)
        return 0
    if not 1 <= args.hosts <= 1_000_000 or not 1 <= args.services <= 50:
        parser.error("-n must be 1-1,000,000 and --services 1-50")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "nmap.xml"
        start = time.perf_counter()
        write_report(path, args.hosts, args.services)
        size = path.stat().st_size
        print(
            f"{args.hosts:,} hosts, {args.services} services each: {size / 1e6:.1f} MB "
            f"written in {time.perf_counter() - start:.1f} s"
        )
        approaches = [args.only] if args.only else ["old", "new"]
        for approach in approaches:
            runs = [_measure(approach, path, args.old_rev) for _ in range(args.rounds)]
            assert all(r["hosts"] == args.hosts for r in runs), runs
            seconds = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            peak = max(r["peak_kb"] for r in runs) / 1024
            grown = max(r["peak_kb"] - r["base_kb"] for r in runs) / 1024
            label = f"old ({args.old_rev})" if approach == "old" and args.old_rev else approach
            print(
                f"{label:<10} parse {seconds:6.1f} s wall, {cpu:6.1f} s CPU   "
                f"peak RSS {peak:6.0f} MiB (+{grown:.0f} MiB over the interpreter)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
