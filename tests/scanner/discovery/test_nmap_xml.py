from __future__ import annotations

import ipaddress
import itertools
import time
import tracemalloc
from pathlib import Path
from xml.etree.ElementTree import ParseError, TreeBuilder
from xml.sax.saxutils import escape, quoteattr

import defusedxml.ElementTree as SafeET
import pytest
from defusedxml import DefusedXmlException
from hypothesis import given
from hypothesis import strategies as st

from scanner.discovery import nmap_xml
from scanner.discovery.nmap_xml import NmapReport, NmapXmlError, parse_bytes, parse_file
from scanner.model import PortStateCount, Reason
from scanner.support.errors import InputError
from tests.factories import make_service
from tests.properties import bounded
from tests.support import FIXTURES

APACHE_CENTOS = FIXTURES / "nmap" / "apache-centos.xml"
HOSTILE = FIXTURES / "hostile"


def test_nmap_xml_error_is_an_input_error() -> None:
    assert issubclass(NmapXmlError, InputError)


def test_recorded_report() -> None:
    report = parse_file(APACHE_CENTOS)
    assert report.version == "7.93"
    assert report.args.startswith("nmap -sS -sV")
    assert report.scanned_ports.startswith("tcp:1,3-4,6-7,")
    assert report.finished
    assert report.error == ""
    (host,) = report.hosts
    assert host.address == "127.0.0.10"
    assert (host.status, host.status_reason) == ("up", "user-set")
    assert host.hostnames == ()
    assert host.other_ports == ()


def test_recorded_service_keeps_every_cpe() -> None:
    (host,) = parse_file(APACHE_CENTOS).hosts
    assert host.services == (
        make_service(
            port=80,
            protocol="tcp",
            state="open",
            reason="syn-ack",
            name="http",
            product="Apache httpd",
            version="2.2.15",
            extrainfo="(CentOS)",
            method="probed",
            conf=10,
            cpes=("cpe:/a:apache:http_server:2.2.15", "cpe:/o:centos:centos"),
        ),
    )
    assert host.services[0].banner == "Apache httpd 2.2.15 ((CentOS))"


def test_recorded_extraports() -> None:
    (host,) = parse_file(APACHE_CENTOS).hosts
    assert host.extraports == (PortStateCount("closed", 999, (Reason("reset", 999),)),)


def _nmaprun(ports: str, finished: str = '<finished exit="success"/>') -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
        '<nmaprun scanner="nmap" args="nmap -sV 127.0.0.1" version="7.93">\n'
        '<scaninfo type="syn" protocol="tcp" numservices="3" services="22,80,443"/>\n'
        '<host><status state="up" reason="syn-ack"/>'
        '<address addr="127.0.0.1" addrtype="ipv4"/>'
        '<address addr="00:00:00:00:00:00" addrtype="mac"/>'
        '<hostnames><hostname name="localhost" type="PTR"/></hostnames>'
        f"<ports>{ports}</ports></host>\n"
        f"<runstats>{finished}</runstats></nmaprun>\n"
    ).encode()


def test_closed_and_filtered_ports_are_counted_not_services() -> None:
    data = _nmaprun(
        '<port protocol="tcp" portid="22"><state state="closed" reason="reset"/></port>'
        '<port protocol="tcp" portid="80"><state state="filtered" reason="no-response"/></port>'
        '<port protocol="tcp" portid="81"><state state="filtered" reason="no-response"/></port>'
        '<port protocol="udp" portid="161"><state state="open|filtered" reason="no-response"/>'
        '<service name="snmp" method="table" conf="3"/></port>'
    )
    (host,) = parse_bytes(data, "inline").hosts
    assert host.hostnames == ("localhost",)
    assert [(s.port, s.protocol, s.state) for s in host.services] == [
        (161, "udp", "open|filtered"),
    ]
    assert host.other_ports == (
        PortStateCount("closed", 1, (Reason("reset", 1),)),
        PortStateCount("filtered", 2, (Reason("no-response", 2),)),
    )


def test_tunnel_and_missing_service_element() -> None:
    data = _nmaprun(
        '<port protocol="tcp" portid="443"><state state="open" reason="syn-ack"/>'
        '<service name="http" product="nginx" version="1.22.1" tunnel="ssl" method="probed" '
        'conf="10"/></port>'
        '<port protocol="tcp" portid="9999"><state state="open" reason="syn-ack"/></port>'
    )
    (host,) = parse_bytes(data, "inline").hosts
    tls, bare = host.services
    assert (tls.tunnel, tls.product, tls.version) == ("ssl", "nginx", "1.22.1")
    assert bare == make_service(
        port=9999, reason="syn-ack", name="", product="", version="", method="", conf=0, cpes=()
    )


def test_nmap_error_exit_is_reported() -> None:
    data = _nmaprun("", finished='<finished exit="error" errormsg="Failed to open device"/>')
    report = parse_bytes(data, "inline")
    assert report.finished
    assert report.error == "Failed to open device"


def test_missing_runstats_means_not_finished() -> None:
    data = _nmaprun("").replace(b'<runstats><finished exit="success"/></runstats>', b"")
    assert not parse_bytes(data, "inline").finished


def test_host_without_ip_address_is_skipped() -> None:
    data = _nmaprun("").replace(b'<address addr="127.0.0.1" addrtype="ipv4"/>', b"")
    assert parse_bytes(data, "inline").hosts == ()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("billion-laughs.xml", "entities"),
        ("external-entity.xml", "entities"),
        ("truncated.xml", "truncated"),
        ("wrong-root.xml", "<foo>"),
        ("not-xml.xml", "not well-formed"),
    ],
)
def test_hostile_file_is_refused_naming_the_file(name: str, says: str) -> None:
    path = HOSTILE / name
    with pytest.raises(NmapXmlError) as info:
        parse_file(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert says in message


def test_external_entity_content_never_leaks() -> None:
    with pytest.raises(NmapXmlError) as info:
        parse_file(HOSTILE / "external-entity.xml")
    assert "root:" not in str(info.value)


def test_truncated_file_names_the_line() -> None:
    with pytest.raises(NmapXmlError, match=r"truncated\.xml:16: truncated"):
        parse_file(HOSTILE / "truncated.xml")


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_empty_output_is_refused(data: bytes) -> None:
    with pytest.raises(NmapXmlError, match=r"^nmap run: empty"):
        parse_bytes(data, "nmap run")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "scan.xml"
    with pytest.raises(InputError, match="cannot read nmap XML") as info:
        parse_file(missing)
    assert str(missing) in str(info.value)


def test_banner_markup_is_kept_as_text_and_control_characters_replaced() -> None:
    (host,) = parse_file(HOSTILE / "banner-xss.xml").hosts
    (service,) = host.services
    assert service.product == "<script>alert(1)</script>"
    assert service.version == "2.4.1 x"
    assert service.extrainfo == "<script>alert(1)</script> 31m red   line2"
    assert service.cpes == ("cpe:/a:evil:<script>alert(1)</script>",)
    for text in (service.product, service.version, service.extrainfo, *service.cpes):
        assert text.isprintable()


def test_long_banner_fields_are_bounded() -> None:
    product = "A" * 5000
    data = _nmaprun(
        '<port protocol="tcp" portid="80"><state state="open" reason="syn-ack"/>'
        f'<service name="http" product="{product}" method="probed" conf="10">'
        + "".join(f"<cpe>cpe:/a:x:y:{i}</cpe>" for i in range(100))
        + "</service></port>"
    )
    (host,) = parse_bytes(data, "inline").hosts
    (service,) = host.services
    assert 0 < len(service.product) <= 512
    assert 0 < len(service.cpes) <= 16


# --- Hostile reports: what is invalid is skipped and said, never kept -------


def test_bad_ports_are_skipped_and_listed_with_their_lines() -> None:
    path = HOSTILE / "nmap-bad-ports.xml"
    report = parse_file(path)
    (host,) = report.hosts
    assert [(s.protocol, s.port, s.state, s.product) for s in host.services] == [
        ("tcp", 80, "open", "Apache httpd"),  # the first of the two tcp/80
        ("udp", 80, "open|filtered", ""),
    ]
    assert host.other_ports == (PortStateCount("closed", 1, (Reason("reset", 1),)),)
    assert report.skipped_ports == 9
    assert report.skipped_hosts == 0
    assert report.skipped == (
        f"{path}:8: port '-1' skipped: not a port number (1-65535)",
        f"{path}:9: port '18446744073709551617' skipped: not a port number (1-65535)",
        f"{path}:10: port skipped: no portid",
        f"{path}:11: port '0' skipped: not a port number (1-65535)",
        f"{path}:12: port '65536' skipped: not a port number (1-65535)",
        f"{path}:13: port ' 80' skipped: not a port number (1-65535)",
        f"{path}:14: port 6 'ip' skipped: protocol not tcp, udp or sctp",
        f"{path}:16: port tcp/80 skipped: repeated on its host, kept the first",
        f"{path}:18: port tcp/443 skipped: state '<script>' is not an nmap port state",
    )


def test_bad_and_repeated_hosts_are_skipped_and_listed() -> None:
    path = HOSTILE / "nmap-bad-hosts.xml"
    report = parse_file(path)
    assert [(h.address, h.hostnames) for h in report.hosts] == [
        ("127.0.0.10", ("web.example.com",)),
        ("2001:db8::1", ()),  # nmap's canonical spelling
    ]
    (first, _) = report.hosts
    assert [s.port for s in first.services] == [80]  # not the repeat's 8080
    assert report.skipped_hosts == 6
    assert report.skipped == (
        f"{path}:4: host skipped: address '999.1.1.1' is not an IPv4 address",
        f"{path}:5: host skipped: address '<script>alert(1)</script>' is not an IPv4 address",
        f"{path}:6: host skipped: address '::1' is not an IPv4 address",
        f"{path}:7: host skipped: no IPv4 or IPv6 address",
        f"{path}:8: host skipped: address 'fe80::1%<b>' has an invalid scope",
        f"{path}:11: hostname '<script>' skipped: not a DNS name",
        f"{path}:11: hostname 'a..b' skipped: not a DNS name",
        f"{path}:14: host skipped: 127.0.0.10 repeated, kept the first",
    )


def test_nmap_failure_is_kept_as_the_error() -> None:
    report = parse_file(HOSTILE / "nmap-error-exit.xml")
    assert report.finished
    assert report.error == "dnet: Failed to open device eth9 [31m"
    assert report.error.isprintable()


def test_no_runstats_is_an_unfinished_run_with_its_hosts() -> None:
    report = parse_file(HOSTILE / "nmap-no-runstats.xml")
    assert not report.finished
    assert report.error == ""
    assert [h.address for h in report.hosts] == ["127.0.0.10"]


@pytest.mark.parametrize(
    ("finished", "error"),
    [
        ('<finished exit="success"/>', ""),
        ("<finished/>", ""),  # nmap before 5.x wrote no exit
        ('<finished exit="error"/>', "nmap reported an error"),
        ('<finished exit="banana"/>', "nmap finished with exit 'banana'"),
    ],
)
def test_exit_status(finished: str, error: str) -> None:
    report = parse_bytes(_nmaprun("", finished=finished), "inline")
    assert report.finished
    assert report.error == error


def test_an_unknown_port_state_is_skipped_but_a_missing_one_counted() -> None:
    data = _nmaprun(
        '<port protocol="tcp" portid="22"><state state="up" reason="x"/></port>'
        '<port protocol="tcp" portid="23"></port>'
    )
    report = parse_bytes(data, "inline")
    (host,) = report.hosts
    assert host.other_ports == (PortStateCount("unknown", 1, (Reason("", 1),)),)
    assert report.skipped == (
        "inline:5: port tcp/22 skipped: state 'up' is not an nmap port state",
    )


def test_invalid_extraports_are_skipped() -> None:
    data = _nmaprun(
        '<extraports state="closed" count="-5"/>'
        '<extraports state="&lt;b&gt;" count="5"/>'
        '<extraports state="filtered" count="7">'
        '<extrareasons reason="no-response" count="99999999999"/>'
        '<extrareasons reason="no-response" count="7"/></extraports>'
    )
    report = parse_bytes(data, "inline")
    (host,) = report.hosts
    assert host.extraports == (PortStateCount("filtered", 7, (Reason("no-response", 7),)),)
    assert [note.split(": ", 1)[1] for note in report.skipped] == [
        "<extraports> skipped: count '-5' is not a port count",
        "<extraports> skipped: state '<b>' is not an nmap port state",
        "<extrareasons> skipped: count '99999999999' is not a port count",
    ]


def test_skipped_notes_are_bounded_and_counted() -> None:
    ports = "".join(
        f'<port protocol="tcp" portid="-{i}"><state state="open"/></port>' for i in range(500)
    )
    report = parse_bytes(_nmaprun(ports), "inline")
    assert report.skipped_ports == 500
    assert len(report.skipped) == 21
    assert report.skipped[-1] == "and 480 more"


def test_hostnames_are_bounded_and_deduplicated() -> None:
    names = "".join(f'<hostname name="h{i % 40}.example"/>' for i in range(1000))
    data = _nmaprun("").replace(b'<hostname name="localhost" type="PTR"/>', names.encode())
    (host,) = parse_bytes(data, "inline").hosts
    assert host.hostnames == tuple(f"h{i}.example" for i in range(16))


def test_confidence_outside_nmaps_scale_is_zero() -> None:
    data = _nmaprun(
        '<port protocol="tcp" portid="80"><state state="open"/><service conf="99999999"/></port>'
        '<port protocol="tcp" portid="81"><state state="open"/><service conf="7"/></port>'
    )
    (host,) = parse_bytes(data, "inline").hosts
    assert [s.conf for s in host.services] == [0, 7]


def test_scaninfo_after_the_hosts_still_labels_them() -> None:
    data = (
        _nmaprun("")
        .replace(
            b'<scaninfo type="syn" protocol="tcp" numservices="3" services="22,80,443"/>\n', b""
        )
        .replace(
            b"<runstats>",
            b'<scaninfo type="syn" protocol="tcp" numservices="1" services="22"/><runstats>',
        )
    )
    (host,) = parse_bytes(data, "inline").hosts
    assert host.probed_ports == "tcp 22"


# --- Hostile structure: refused with origin and line, within bounds ---------


def test_deep_nesting_is_refused_with_its_line() -> None:
    data = b"<nmaprun>\n" + b"<a>\n" * 100_000 + b"</a>" * 100_000 + b"</nmaprun>\n"
    with pytest.raises(NmapXmlError, match=r"^deep\.xml:65: elements nested more than 64 deep"):
        parse_bytes(data, "deep.xml")


@pytest.mark.parametrize(
    "piece",
    [
        b'<host><address addr="' + b"A" * 20_000_000 + b'" addrtype="ipv4"/></host>',
        b"<!--" + b"x" * 20_000_000 + b"-->",
        b"<x " + b" ".join(b"a%d='1'" % i for i in range(1_000_000)) + b"/>",
    ],
    ids=["attribute", "comment", "attributes"],
)
def test_a_huge_token_is_refused_with_its_line(piece: bytes) -> None:
    data = b'<?xml version="1.0"?>\n<nmaprun>\n<scaninfo/>\n' + piece + b"\n</nmaprun>\n"
    with pytest.raises(NmapXmlError, match=r"^huge\.xml:4: an XML token .* longer than"):
        parse_bytes(data, "huge.xml")


def test_huge_text_is_passed_over() -> None:
    # Character data outside a <cpe> is never buffered: expat drops it as it goes.
    data = _nmaprun("").replace(b"<runstats>", b"<x>" + b"t" * 20_000_000 + b"</x><runstats>")
    assert [h.address for h in parse_bytes(data, "inline").hosts] == ["127.0.0.1"]


def test_a_long_cpe_text_is_kept_bounded() -> None:
    data = _nmaprun(
        '<port protocol="tcp" portid="80"><state state="open"/><service name="http">'
        f"<cpe>cpe:/a:{'x' * 3_000_000}</cpe></service></port>"
    )
    (host,) = parse_bytes(data, "inline").hosts
    (cpe,) = host.services[0].cpes
    assert cpe.startswith("cpe:/a:x")
    assert len(cpe) == 512


@pytest.mark.parametrize(
    "encoding", ["utf-7", "shift_jis", "rot13", "base64", "idna", "utf-32", "bogus", "x" * 5000]
)
def test_the_declared_encoding_is_not_looked_up(encoding: str) -> None:
    # pyexpat would ask Python's codecs, which answer with LookupError or
    # ValueError; nmap writes UTF-8, and UTF-8 is read whatever is declared.
    data = _nmaprun("").replace(b'encoding="UTF-8"', f'encoding="{encoding}"'.encode())
    assert [h.hostnames for h in parse_bytes(data, "inline").hosts] == [("localhost",)]


def test_a_dtd_internal_subset_is_refused() -> None:
    path = HOSTILE / "attribute-defaults.xml"
    with pytest.raises(NmapXmlError, match=r"attribute-defaults\.xml:2: refused: .*internal"):
        parse_file(path)


def test_an_external_dtd_is_never_read() -> None:
    # Older nmap named its DTD by URL; expat never fetches it and the entity
    # it would define stays unexpanded.
    (host,) = parse_file(HOSTILE / "external-dtd.xml").hosts
    assert host.services[0].extrainfo == ""


def test_too_many_hosts_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nmap_xml, "MAX_HOSTS", 2)
    hosts = "".join(
        f'<host><address addr="10.0.0.{i}" addrtype="ipv4"/></host>\n' for i in range(1, 4)
    )
    data = f"<nmaprun>\n{hosts}</nmaprun>".encode()
    with pytest.raises(NmapXmlError, match=r"^many:4: more than 2 hosts"):
        parse_bytes(data, "many")


def test_too_many_services_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nmap_xml, "MAX_SERVICES", 2)
    ports = "".join(
        f'<port protocol="tcp" portid="{p}"><state state="open"/></port>\n' for p in (1, 2, 3)
    )
    data = f'<nmaprun><host><address addr="10.0.0.1" addrtype="ipv4"/><ports>\n{ports}'
    data += "</ports></host></nmaprun>"
    with pytest.raises(NmapXmlError, match=r"^many:4: more than 2 open ports"):
        parse_bytes(data.encode(), "many")


def test_a_file_larger_than_the_cap_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nmap_xml, "MAX_XML_BYTES", 100)
    path = tmp_path / "big.xml"
    path.write_bytes(b" " * 101)
    with pytest.raises(InputError, match=r"big\.xml: nmap XML is larger than 100 bytes"):
        parse_file(path)


# --- Streaming and progress --------------------------------------------------


def _many_hosts(count: int) -> bytes:
    hosts = "".join(
        f'<host><status state="up"/><address addr="10.0.{i >> 8}.{i & 255}" addrtype="ipv4"/>'
        '<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/>'
        '<service name="ssh" product="OpenSSH" version="9.2p1"><cpe>cpe:/a:openbsd:openssh</cpe>'
        "</service></port></ports></host>\n"
        for i in range(count)
    )
    end = "<runstats><finished/></runstats></nmaprun>\n"
    return f'<?xml version="1.0"?>\n<nmaprun>\n{hosts}{end}'.encode()


def test_progress_is_called_with_bytes_read_and_total(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nmap_xml, "_PROGRESS_SECONDS", 0.0)  # every chunk
    monkeypatch.setattr(nmap_xml, "_CHUNK_BYTES", 4096)
    path = tmp_path / "scan.xml"
    path.write_bytes(_many_hosts(300))
    size = path.stat().st_size
    calls: list[tuple[int, int]] = []
    report = parse_file(path, progress=lambda done, total: calls.append((done, total)))
    assert len(report.hosts) == 300
    assert len(calls) >= size // 4096
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert {total for _, total in calls} == {size}
    assert calls[-1] == (size, size)


def test_progress_is_throttled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nmap_xml, "_PROGRESS_SECONDS", 0.02)  # 0.25 s in use
    monkeypatch.setattr(nmap_xml, "_CHUNK_BYTES", 4096)  # a call is due at every chunk
    path = tmp_path / "scan.xml"
    path.write_bytes(_many_hosts(2000))
    calls: list[float] = []
    start = time.monotonic()
    parse_file(path, progress=lambda done, total: calls.append(time.monotonic()))
    elapsed = time.monotonic() - start
    assert 2 <= len(calls) <= elapsed / 0.02 + 2
    assert all(b - a >= 0.019 for a, b in itertools.pairwise(calls[:-1]))


def test_file_and_bytes_parse_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunk edges fall inside tokens: the result must not depend on them.
    monkeypatch.setattr(nmap_xml, "_CHUNK_BYTES", 777)
    data = _many_hosts(50) + b"\n"
    path = tmp_path / "scan.xml"
    path.write_bytes(data)
    from_file = parse_file(path)
    assert len(from_file.hosts) == 50
    assert from_file.hosts == parse_bytes(data, "x").hosts


def test_the_document_is_never_held_whole() -> None:
    # 2,000 hosts of ~330 bytes: the tree of the old parser was ~4 kB a host;
    # the streaming one holds the hosts (~1 kB each, strings shared) only.
    data = _many_hosts(2000)
    tracemalloc.start()
    try:
        report = parse_bytes(data, "x")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(report.hosts) == 2000
    assert peak < 2000 * 2500


def test_hosts_alike_share_their_services_and_port_counts() -> None:
    def host(address: str, version: str) -> str:
        return (
            f'<host><status state="up"/><address addr="{address}" addrtype="ipv4"/><ports>'
            '<extraports state="closed" count="997"><extrareasons reason="reset" count="997"/>'
            '</extraports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/>'
            f'<service name="ssh" product="OpenSSH" version="{version}"><cpe>cpe:/a:openbsd:openssh'
            '</cpe></service></port><port protocol="tcp" portid="25"><state state="closed" '
            'reason="reset"/></port></ports></host>\n'
        )

    hosts = host("10.0.0.1", "9.2p1") + host("10.0.0.2", "9.2p1") + host("10.0.0.3", "9.6p1")
    data = f"<nmaprun>{hosts}<runstats><finished/></runstats></nmaprun>".encode()

    one, alike, other = parse_bytes(data, "x").hosts

    assert one.services == alike.services == (make_service(
        port=22, name="ssh", product="OpenSSH", version="9.2p1", reason="syn-ack",
        cpes=("cpe:/a:openbsd:openssh",), method="", conf=0,
    ),)  # fmt: skip
    assert alike.services is one.services
    assert alike.extraports is one.extraports
    assert alike.other_ports is one.other_ports
    assert other.services != one.services
    assert other.extraports is one.extraports  # the port counts are the same
    assert other.other_ports == (PortStateCount("closed", 1, (Reason("reset", 1),)),)


# --- Property: any document loads or is an InputError, never anything else --

PROPERTY = bounded()

_VALUES = st.one_of(
    st.sampled_from(
        [
            "", "-1", "0", "1", "22", "80", "65535", "65536", "1" * 20, " 80", "8O", "+80", "1e3",
            "127.0.0.1", "999.1.1.1", "10.0.0.256", "::1", "fe80::1%eth0", "fe80::1%", "1.2.3",
            "<script>alert(1)</script>", "ipv4", "ipv6", "mac", "tcp", "udp", "sctp", "ip",
            "open", "closed", "filtered", "open|filtered", "up", "error", "success",
            "web.example.com", "a..b", "-x-", "x" * 300, "\u202e\u0085\u00a0", "&amp;", "'\"",
        ]
    ),
    st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=12),
)  # fmt: skip
# Mostly what nmap writes, so that the checks past the parser run too.
_GOOD_ADDRESSES = st.sampled_from(
    [("127.0.0.1", "ipv4"), ("127.0.0.2", "ipv4"), ("::1", "ipv6"), ("2001:DB8::1", "ipv6")]
)
_GOOD_NAMES = st.sampled_from(["localhost", "web.example.com", "db-1.internal."])


def _often(draw: st.DrawFn, good: st.SearchStrategy[str]) -> str:
    """A value nmap could write three times in four, else a hostile one."""
    return draw(good) if draw(st.integers(0, 3)) else draw(_VALUES)


def _attrs(draw: st.DrawFn, names: list[str], values: st.SearchStrategy[str]) -> str:
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    return "".join(f" {name}={quoteattr(draw(values))}" for name in chosen)


@st.composite
def _port(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 3)):
        attrs = f" protocol={quoteattr(draw(st.sampled_from(['tcp', 'udp', 'sctp'])))}"
        attrs += f' portid="{draw(st.integers(min_value=0, max_value=70000))}"'
    else:
        attrs = _attrs(draw, ["protocol", "portid"], _VALUES)
    inner = ""
    if draw(st.integers(0, 3)):
        state = _often(draw, st.sampled_from(["open", "closed", "filtered", "open|filtered"]))
        inner += f"<state state={quoteattr(state)} reason={quoteattr(draw(_VALUES))}/>"
    if draw(st.booleans()):
        cpes = "".join(
            f"<cpe>{escape(draw(_VALUES))}</cpe>" for _ in range(draw(st.integers(0, 3)))
        )
        inner += f"<service{_attrs(draw, ['name', 'product', 'version', 'conf'], _VALUES)}>"
        inner += f"{cpes}</service>"
    return f"<port{attrs}>{inner}</port>"


@st.composite
def _host(draw: st.DrawFn) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(f"<status{_attrs(draw, ['state', 'reason'], _VALUES)}/>")
    for _ in range(draw(st.sampled_from([1, 1, 1, 0, 2]))):
        address, kind = draw(_GOOD_ADDRESSES)
        if not draw(st.integers(0, 3)):
            address = _often(draw, st.sampled_from(["999.1.1.1", "<x>", "", "::1"]))
            kind = _often(draw, st.sampled_from(["ipv4", "ipv6", "mac"]))
        parts.append(f"<address addr={quoteattr(address)} addrtype={quoteattr(kind)}/>")
    if draw(st.booleans()):
        names = [_often(draw, _GOOD_NAMES) for _ in range(draw(st.integers(0, 3)))]
        parts.append(
            "<hostnames>"
            + "".join(f"<hostname name={quoteattr(n)}/>" for n in names)
            + "</hostnames>"
        )
    ports = draw(st.lists(_port(), max_size=5))
    ports += ports[: draw(st.integers(0, 2))]  # repeated ports
    extra = ""
    if draw(st.booleans()):
        extra = f"<extraports{_attrs(draw, ['state', 'count'], _VALUES)}>"
        extra += f"<extrareasons{_attrs(draw, ['reason', 'count'], _VALUES)}/></extraports>"
    parts.append(f"<ports>{extra}{''.join(ports)}</ports>")
    return "<host>" + "".join(draw(st.permutations(parts))) + "</host>"


@st.composite
def _nmap_documents(draw: st.DrawFn) -> bytes:
    hosts = draw(st.lists(_host(), max_size=4))
    hosts += hosts[: draw(st.integers(0, 2))]  # repeated hosts
    body = "".join(hosts)
    if draw(st.booleans()):
        body = f"<scaninfo{_attrs(draw, ['protocol', 'services', 'numservices'], _VALUES)}/>" + body
    if draw(st.booleans()):
        body += f"<runstats><finished{_attrs(draw, ['exit', 'errormsg'], _VALUES)}/></runstats>"
    encoding = draw(st.sampled_from(["", ' encoding="UTF-8"', ' encoding="utf-7"']))
    prolog = f'<?xml version="1.0"{encoding}?>\n<!DOCTYPE nmaprun>\n'
    document = f"{prolog}<nmaprun>{body}</nmaprun>\n".encode()
    # Sometimes cut short or with a byte spliced in.
    damage = draw(st.sampled_from(["none", "none", "none", "cut", "splice"]))
    cut = draw(st.integers(0, len(document)))
    if damage == "cut":
        document = document[:cut]
    elif damage == "splice":
        document = document[:cut] + draw(st.binary(min_size=1, max_size=3)) + document[cut:]
    return document


def _check_report(report: NmapReport) -> None:
    addresses = [h.address for h in report.hosts]
    assert len(addresses) == len(set(addresses))
    for host in report.hosts:
        assert str(ipaddress.ip_address(host.address)) == host.address
        keys = [(s.protocol, s.port) for s in host.services]
        assert len(keys) == len(set(keys))
        for service in host.services:
            assert 1 <= service.port <= 65535
            assert service.protocol in {"tcp", "udp", "sctp"}
            assert service.state in {"open", "open|filtered"}
            assert 0 <= service.conf <= 10
            assert len(service.cpes) <= 16
            for text in (service.name, service.product, service.version, *service.cpes):
                assert text.isprintable()
                assert len(text) <= 512
        for name in host.hostnames:
            assert len(name) <= 253
            assert name.isascii()
            assert name.isprintable()
        for count in (*host.other_ports, *host.extraports):
            assert count.state in {"open", "closed", "filtered", "unfiltered", "open|filtered",
                                   "closed|filtered", "unknown"}  # fmt: skip
            assert 0 <= count.count <= 3 * 65535
    assert len(report.skipped) <= 21
    assert report.error.isprintable()


def _expected_addresses(document: bytes) -> list[str] | None:
    """The hosts a correct parser keeps, from an independent reading of the
    document with ElementTree (None when it is not well-formed)."""
    # UTF-8 whatever is declared, as nmap writes it (and as parse_bytes reads it).
    parser = SafeET.DefusedXMLParser(target=TreeBuilder(), encoding="utf-8", forbid_dtd=False)
    try:
        parser.feed(document)
        root = parser.close()
    except (ParseError, DefusedXmlException):
        return None
    kept: list[str] = []
    for host in root.findall("host"):
        first = next(
            (a for a in host.findall("address") if a.get("addrtype") in ("ipv4", "ipv6")), None
        )
        if first is None:
            continue
        try:
            ip = ipaddress.ip_address(first.get("addr", ""))
        except ValueError:
            continue
        if ip.version != (4 if first.get("addrtype") == "ipv4" else 6):
            continue
        if str(ip) not in kept:
            kept.append(str(ip))
    return kept


def _outcome(document: bytes, origin: str) -> NmapReport | InputError:
    try:
        return parse_bytes(document, origin)
    except InputError as exc:  # anything else fails the test
        return exc


@PROPERTY
@given(_nmap_documents())
def test_property_generated_documents(document: bytes) -> None:
    report = _outcome(document, "gen.xml")
    if isinstance(report, InputError):
        assert str(report).startswith("gen.xml")
        assert "\n" not in str(report)
        return
    _check_report(report)
    expected = _expected_addresses(document)
    assert expected is not None  # what parses here parses there
    assert [h.address for h in report.hosts] == expected


@PROPERTY
@given(st.binary(max_size=2000))
def test_property_random_bytes(document: bytes) -> None:
    report = _outcome(b"<nmaprun>" + document, "random.xml")
    if isinstance(report, InputError):
        assert str(report).startswith("random.xml")
        return
    _check_report(report)
