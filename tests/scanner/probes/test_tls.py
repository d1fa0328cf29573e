"""The TLS probe against real handshakes: Python `ssl` servers on loopback.

Each server runs in a thread on 127.0.0.1 and an ephemeral port, with a
certificate from `fixtures/certs.py`. The probe talks to it exactly as it
would to a remote host.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures import certs
from scanner.model import Host, Observation, Service
from scanner.probes.context import ProbeContext
from scanner.probes.tls import (
    SPEC,
    applies,
    certificate_facts,
    clean,
    dns_name_matches,
    parse_certificate,
    probe,
)

# Pinning a context to TLS 1.0/1.1 is what the probe exists to do.
pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")

ADDRESS = "127.0.0.1"
TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3


@dataclass(frozen=True)
class CaContext(ProbeContext):
    """A ProbeContext with the private CA the probe reads through `getattr`."""

    ca_file: Path | None = None


Handler = Callable[[socket.socket, threading.Event], None]


@contextlib.contextmanager
def serving(handler: Handler) -> Iterator[int]:
    """A loopback server handling one connection at a time; yields its port."""
    listener = socket.create_server((ADDRESS, 0))
    listener.settimeout(0.1)  # so the loop sees `stop` promptly
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                handler(conn, stop)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def tls_handler(context: ssl.SSLContext) -> Handler:
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        # The probe's clients abort some handshakes on purpose (pinned
        # versions, failed verification): the server's errors are expected.
        with contextlib.suppress(OSError):
            context.wrap_socket(conn, server_side=True).close()

    return handle


def plaintext_handler(conn: socket.socket, stop: threading.Event) -> None:
    with contextlib.suppress(OSError):
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def silent_handler(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(10)  # accepts, reads nothing, answers nothing


def server_context(
    files: certs.CertFiles,
    minimum: ssl.TLSVersion = TLS12,
    maximum: ssl.TLSVersion = TLS13,
    *,
    seclevel0: bool = False,
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if seclevel0:
        # Before load_cert_chain: the security level also decides which keys load.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = minimum
    context.maximum_version = maximum
    context.load_cert_chain(files.cert, files.key)
    return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, certs.CertFiles]:
    directory = tmp_path_factory.mktemp("pki")
    return directory, certs.make_ca(directory)


def https(port: int) -> Service:
    return Service(port=port, protocol="tcp", state="open", name="http", tunnel="ssl")


def run(
    port: int,
    ctx: ProbeContext,
    hostnames: tuple[str, ...] = (),
) -> dict[str, Observation]:
    service = https(port)
    host = Host(address=ADDRESS, hostnames=hostnames, services=(service,))
    observations = probe(host, service, ctx)
    assert all(o.probe == "tls" and o.host == ADDRESS and o.port == port for o in observations)
    keys = [o.key for o in observations]
    assert len(keys) == len(set(keys))
    return {o.key: o for o in observations}


def values(found: dict[str, Observation]) -> dict[str, str]:
    return {key: o.value for key, o in found.items()}


def trusting(ca: certs.CertFiles) -> CaContext:
    return CaContext(timeout=3.0, time_budget=30.0, ca_file=ca.cert)


# --- servers --------------------------------------------------------------


def test_well_configured_server(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.valid(directory, ca, ADDRESS)
    with serving(tls_handler(server_context(files))) as port:
        found = run(port, trusting(ca), hostnames=(certs.TEST_DNS_NAME,))
    assert values(found) == {
        "tls.handshake": "ok",
        "tls.version.SSLv3": "untestable",
        "tls.version.TLSv1.0": "refused",
        "tls.version.TLSv1.1": "refused",
        "tls.version.TLSv1.2": "accepted",
        "tls.version.TLSv1.3": "accepted",
        "tls.certificate": "present",
        "tls.cert_expired": "no",
        "tls.cert_expires_in_days": "365",
        "tls.cert_self_signed": "no",
        "tls.cert_key": "rsa-2048",
        "tls.cert_rsa_bits": "2048",
        "tls.cert_signature_hash": "sha256",
        "tls.cert_trusted": "yes",
        "tls.cert_hostname_match": "yes",
    }
    assert found["tls.handshake"].evidence.startswith("TLSv1.3 TLS_")
    assert found["tls.version.TLSv1.2"].evidence.startswith("TLSv1.2 ")
    assert "RFC 7568" in found["tls.version.SSLv3"].evidence
    assert found["tls.version.TLSv1.0"].evidence  # the alert or reason, one line
    assert "\n" not in found["tls.version.TLSv1.0"].evidence
    summary = found["tls.certificate"].evidence
    assert f"CN={certs.TEST_DNS_NAME}, SAN={certs.TEST_DNS_NAME}, {ADDRESS}," in summary
    assert f"issuer CN={certs.CA_NAME},O=trustscan tests" in summary
    assert found["tls.cert_hostname_match"].evidence == f"IP SAN {ADDRESS}"


def test_ec_key_and_hostname_by_dns_name(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.make_leaf(
        directory, ca, "*.trustscan.test", [], stem="ec", key_type="ec", key_bits=256
    )
    with serving(tls_handler(server_context(files))) as port:
        found = run(port, trusting(ca), hostnames=("www.trustscan.test",))
    assert values(found)["tls.cert_key"] == "ec-256"
    assert "tls.cert_rsa_bits" not in found
    assert values(found)["tls.cert_trusted"] == "yes"
    assert found["tls.cert_hostname_match"].value == "yes"
    assert found["tls.cert_hostname_match"].evidence == (
        "www.trustscan.test matches SAN *.trustscan.test"
    )


def test_unknown_ca_is_not_trusted(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.valid(directory, ca, ADDRESS)
    with serving(tls_handler(server_context(files))) as port:
        found = run(port, ProbeContext(timeout=3.0))
    assert found["tls.cert_trusted"].value == "no"
    assert "unable to get local issuer certificate" in found["tls.cert_trusted"].evidence
    assert found["tls.cert_hostname_match"].value == "yes"  # the IP SAN


def test_expired(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.expired(directory, ca, ADDRESS)
    with serving(tls_handler(server_context(files))) as port:
        found = run(port, trusting(ca))
    assert found["tls.cert_expired"].value == "yes"
    assert found["tls.cert_expires_in_days"].value == "-1"
    assert found["tls.cert_trusted"].value == "no"
    assert "certificate has expired" in found["tls.cert_trusted"].evidence
    assert found["tls.cert_self_signed"].value == "no"


def test_expiring_soon(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.expiring_soon(directory, ca, ADDRESS)
    with serving(tls_handler(server_context(files))) as port:
        found = run(port, trusting(ca))
    assert values(found)["tls.cert_expired"] == "no"
    assert values(found)["tls.cert_expires_in_days"] == "10"
    assert values(found)["tls.cert_trusted"] == "yes"


def test_self_signed(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.self_signed(directory, ca, ADDRESS)
    with serving(tls_handler(server_context(files))) as port:
        found = run(port, trusting(ca))
    assert found["tls.cert_self_signed"].value == "yes"
    assert found["tls.cert_trusted"].value == "no"
    assert "self-signed certificate" in found["tls.cert_trusted"].evidence
    assert found["tls.cert_hostname_match"].value == "yes"


def test_wrong_name(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.wrong_name(directory, ca, ADDRESS)
    with serving(tls_handler(server_context(files))) as port:
        found = run(port, trusting(ca), hostnames=(certs.TEST_DNS_NAME,))
    assert found["tls.cert_trusted"].value == "yes"  # a good chain, for another name
    assert found["tls.cert_hostname_match"].value == "no"
    evidence = found["tls.cert_hostname_match"].evidence
    assert evidence == (
        f"none of {ADDRESS}, {certs.TEST_DNS_NAME} is in the SANs "
        f"({certs.OTHER_DNS_NAME}, {certs.OTHER_IP})"
    )


def test_weak_key_and_sha1_signature(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.weak(directory, ca, ADDRESS)
    # OpenSSL 3 loads an RSA-1024 certificate only at security level 0.
    with serving(tls_handler(server_context(files, seclevel0=True))) as port:
        found = run(port, trusting(ca))
    assert values(found)["tls.cert_key"] == "rsa-1024"
    assert values(found)["tls.cert_rsa_bits"] == "1024"
    assert values(found)["tls.cert_signature_hash"] == "sha1"
    assert found["tls.cert_signature_hash"].evidence == "sha1WithRSAEncryption"
    assert values(found)["tls.version.TLSv1.2"] == "accepted"
    # A client at the default security level refuses the chain.
    assert found["tls.cert_trusted"].value == "no"
    assert "too weak" in found["tls.cert_trusted"].evidence


def test_tls12_only(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.valid(directory, ca, ADDRESS)
    with serving(tls_handler(server_context(files, TLS12, TLS12))) as port:
        found = run(port, trusting(ca))
    assert {k: v for k, v in values(found).items() if k.startswith("tls.version.")} == {
        "tls.version.SSLv3": "untestable",
        "tls.version.TLSv1.0": "refused",
        "tls.version.TLSv1.1": "refused",
        "tls.version.TLSv1.2": "accepted",
        "tls.version.TLSv1.3": "refused",
    }
    assert found["tls.handshake"].evidence.startswith("TLSv1.2 ")
    assert found["tls.cert_trusted"].value == "yes"  # verified over TLS 1.2


def _tls10_context(files: certs.CertFiles) -> ssl.SSLContext:
    try:
        return server_context(files, ssl.TLSVersion.TLSv1, TLS13, seclevel0=True)
    except (ValueError, ssl.SSLError) as exc:
        pytest.skip(f"the local OpenSSL cannot serve TLS 1.0: {exc}")


def test_server_allowing_tls10(pki: tuple[Path, certs.CertFiles]) -> None:
    if not ssl.HAS_TLSv1:
        pytest.skip(f"{ssl.OPENSSL_VERSION} was built without TLS 1.0")
    directory, ca = pki
    files = certs.valid(directory, ca, ADDRESS)
    with serving(tls_handler(_tls10_context(files))) as port:
        found = run(port, trusting(ca))
    assert values(found)["tls.version.TLSv1.0"] == "accepted"
    assert values(found)["tls.version.TLSv1.1"] == "accepted"
    assert found["tls.version.TLSv1.0"].evidence.startswith("TLSv1 ")


def test_tls10_only_server_is_still_verified(pki: tuple[Path, certs.CertFiles]) -> None:
    if not ssl.HAS_TLSv1:
        pytest.skip(f"{ssl.OPENSSL_VERSION} was built without TLS 1.0")
    directory, ca = pki
    files = certs.valid(directory, ca, ADDRESS)
    try:
        context = server_context(files, ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1, seclevel0=True)
    except (ValueError, ssl.SSLError) as exc:
        pytest.skip(f"the local OpenSSL cannot serve TLS 1.0: {exc}")
    with serving(tls_handler(context)) as port:
        found = run(port, trusting(ca))
    assert values(found)["tls.version.TLSv1.0"] == "accepted"
    assert values(found)["tls.version.TLSv1.2"] == "refused"
    assert values(found)["tls.cert_trusted"] == "yes"


def test_plaintext_service_is_a_failed_handshake() -> None:
    with serving(plaintext_handler) as port:
        found = run(port, ProbeContext(timeout=3.0))
    assert values(found) == {"tls.handshake": "failed"}
    evidence = found["tls.handshake"].evidence
    assert "TLSv1.3: " in evidence
    assert "\n" not in evidence


def test_nothing_listening_is_a_failed_handshake() -> None:
    with socket.create_server((ADDRESS, 0)) as reserved:
        port = reserved.getsockname()[1]
    found = run(port, ProbeContext(timeout=1.0))
    assert values(found) == {"tls.handshake": "failed"}
    assert "could not connect" in found["tls.handshake"].evidence


def test_silent_server_is_bounded_by_the_time_budget() -> None:
    with serving(silent_handler) as port:
        started = time.monotonic()
        found = run(port, ProbeContext(timeout=0.3, time_budget=1.0))
        elapsed = time.monotonic() - started
    assert values(found) == {"tls.handshake": "failed"}
    assert elapsed < 2.0
    assert "no answer within the timeout" in found["tls.handshake"].evidence


def test_spent_budget_tests_nothing() -> None:
    found = run(1, ProbeContext(time_budget=0.0))
    assert values(found) == {"tls.handshake": "failed"}
    assert "time budget" in found["tls.handshake"].evidence


# --- the certificate parser and the name matcher (no network) -------------


def test_parser_reads_weak_certificate(pki: tuple[Path, certs.CertFiles]) -> None:
    directory, ca = pki
    files = certs.weak(directory, ca, ADDRESS)
    der = x509.load_pem_x509_certificate(files.cert.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    info = parse_certificate(der)
    assert (info.key, info.signature_hash, info.self_signed) == ("rsa-1024", "sha1", False)
    assert info.dns_names == (certs.TEST_DNS_NAME,)
    assert info.ip_addresses == (ADDRESS,)


def test_parser_rejects_garbage() -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_certificate(b"\x30\x03\x02\x01\x00")


def _hostile_der() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    # Longer than X.520 allows: a hostile server does not follow the rules.
    common_name = "evil\x1b[31m\u202e" + "a" * 300
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name, _validate=False)])
    now = dt.datetime.now(dt.UTC)
    sans = [x509.DNSName(f"host{i}.example.test") for i in range(40)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


# cryptography warns about the over-long CN it was asked to write and read.
@pytest.mark.filterwarnings("ignore:Attribute's length:UserWarning")
def test_hostile_certificate_fields_are_cleaned_and_bounded() -> None:
    info = parse_certificate(_hostile_der())
    assert info.subject_cn == "evil[31m" + "a" * 191 + "\u2026"  # 200 characters
    assert len(info.dns_names) == 40  # all compared with the host's names, 10 shown
    assert info.self_signed
    assert info.key == "ec-256"
    facts = {k: e for k, _, e in certificate_facts(info, dt.datetime.now(dt.UTC))}
    summary = facts["tls.certificate"]
    assert "host9.example.test (+30 more)" in summary
    assert "host10.example.test" not in summary
    assert "\x1b" not in summary


def test_clean_strips_control_characters_and_bounds_length() -> None:
    assert clean("a\r\nb\x00c\u202ed") == "abcd"
    assert clean("x" * 500) == "x" * 199 + "\u2026"


@pytest.mark.parametrize(
    ("pattern", "hostname", "expected"),
    [
        ("www.trustscan.test", "WWW.trustscan.test.", True),
        ("*.trustscan.test", "www.trustscan.test", True),
        ("*.trustscan.test", "trustscan.test", False),  # one label, not zero
        ("*.trustscan.test", "a.b.trustscan.test", False),  # one label, not two
        ("*.test", "trustscan.test", False),  # not a whole TLD
        ("w*.trustscan.test", "www.trustscan.test", False),  # no partial wildcards
        ("www.*.test", "www.trustscan.test", False),  # left-most label only
        ("*.trustscan.test", "xn--bcher-kva.trustscan.test", False),  # no A-labels
        ("other.trustscan.test", "www.trustscan.test", False),
        ("", "www.trustscan.test", False),
    ],
)
def test_dns_name_matching(pattern: str, hostname: str, expected: bool) -> None:
    assert dns_name_matches(pattern, hostname) is expected


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (Service(port=443, protocol="tcp", state="open", name="https"), True),
        (Service(port=8443, protocol="tcp", state="open", name="http", tunnel="ssl"), True),
        (Service(port=993, protocol="tcp", state="open", name="imaps"), True),
        (Service(port=4433, protocol="tcp", state="open", name="ssl/unknown"), True),
        (Service(port=80, protocol="tcp", state="open", name="http"), False),
        (Service(port=443, protocol="tcp", state="open|filtered", name="https"), False),
        (Service(port=443, protocol="udp", state="open", name="https"), False),
    ],
)
def test_applies(service: Service, expected: bool) -> None:
    assert applies(service) is expected
    assert SPEC.applies(service) is expected
    assert SPEC.name == "tls"
