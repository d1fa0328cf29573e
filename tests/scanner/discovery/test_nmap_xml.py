from __future__ import annotations

from pathlib import Path

import pytest

from scanner.discovery.nmap_xml import NmapXmlError, parse_bytes, parse_file
from scanner.model import PortStateCount, Reason
from scanner.support.errors import InputError
from tests.factories import make_service
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
