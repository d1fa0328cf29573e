"""TLS posture of a service: the protocol versions it accepts and its certificate.

One handshake per protocol version, pinned with the context's minimum and
maximum version, tells which versions the server accepts; the certificate of
the highest accepted version is parsed with `cryptography` (names, dates,
key, signature hash), and a second handshake that verifies the chain against
the system trust store (plus `ctx.ca_file` when set) tells whether a client
would trust it. Hostnames are matched here, after RFC 6125, from the
certificate's SAN entries.

Every value read from the certificate is the target's: control characters
are removed and fields bounded before they become evidence. A target that
does not speak TLS (a plaintext service, a reset, garbage) gives the
observation `tls.handshake` = "failed" and nothing else; the probe never
raises for it.

The local OpenSSL decides what can be tested: SSL 3.0 never (OpenSSL 3 is
built without it), TLS 1.0 and 1.1 only with `@SECLEVEL=0`; what it cannot
offer is reported as "untestable", not as refused.

STARTTLS (SMTP, IMAP, POP3, LDAP, FTP, PostgreSQL upgrades) is not covered:
only services that start with a TLS handshake are probed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
import ssl
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

from scanner.model import Host, Observation, Service
from scanner.probes.context import ProbeContext, ProbeSpec

PROBE = "tls"

# nmap service names of services that begin with a TLS handshake.
TLS_SERVICE_NAMES = frozenset({"https", "ssl", "imaps", "pop3s", "smtps", "ldaps", "ftps"})

FIELD_LIMIT = 200  # characters per certificate field in evidence
SAN_LIMIT = 10  # SAN entries shown in evidence
MATCH_LIMIT = 1000  # SAN entries compared with the host's names (a hostile cert may hold more)

ACCEPTED = "accepted"
REFUSED = "refused"
UNTESTABLE = "untestable"

# Client-side failures: the local OpenSSL could not even build a ClientHello
# for the version, so nothing was asked of the server.
_LOCAL_REASONS = frozenset({"NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE"})

# Any cipher the local OpenSSL has, at security level 0: the probe measures
# what the server accepts, not what this client's policy would allow (TLS 1.0
# and 1.1, small DH groups and RSA-1024 keys are refused at the default level).
_PERMISSIVE_CIPHERS = "DEFAULT:@SECLEVEL=0"

_SNI_NAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?:\.(?!-)[A-Za-z0-9-]{1,63})*\.?$")


@dataclass(frozen=True)
class TlsVersion:
    label: str  # the observation key's suffix
    version: ssl.TLSVersion
    available: bool  # whether the local ssl module was built with it


# Highest first: the certificate comes from the best version, and if the time
# budget runs out the versions clients use today have been tested.
VERSIONS = (
    TlsVersion("TLSv1.3", ssl.TLSVersion.TLSv1_3, ssl.HAS_TLSv1_3),
    TlsVersion("TLSv1.2", ssl.TLSVersion.TLSv1_2, ssl.HAS_TLSv1_2),
    TlsVersion("TLSv1.1", ssl.TLSVersion.TLSv1_1, ssl.HAS_TLSv1_1),
    TlsVersion("TLSv1.0", ssl.TLSVersion.TLSv1, ssl.HAS_TLSv1),
)


@dataclass(frozen=True)
class Attempt:
    """One pinned-version handshake and what came of it."""

    label: str
    outcome: str  # ACCEPTED, REFUSED or UNTESTABLE
    detail: str  # negotiated version and cipher, or why not (one bounded line)
    version: ssl.TLSVersion | None = None
    der: bytes | None = None  # the server's certificate, when accepted


@dataclass(frozen=True)
class CertificateInfo:
    """What the probe reports of a certificate; text fields are cleaned and bounded."""

    subject_cn: str
    dns_names: tuple[str, ...]  # raw SAN DNS names (for matching only), at most MATCH_LIMIT
    ip_addresses: tuple[str, ...]  # SAN IP addresses, normalised
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    key: str  # "rsa-2048", "ec-256", "ed25519", "unknown"
    signature_hash: str  # "sha256", "sha1", "none" (EdDSA), "unknown"
    signature_algorithm: str
    self_signed: bool


def applies(service: Service) -> bool:
    if service.protocol != "tcp" or service.state != "open":
        return False
    name = service.name.lower()
    return service.tunnel == "ssl" or name in TLS_SERVICE_NAMES or name.startswith("ssl/")


# --- bounded text ---------------------------------------------------------


def clean(text: str, limit: int = FIELD_LIMIT) -> str:
    """One printable line of at most `limit` characters.

    Control and format characters go (newlines, escapes, bidi overrides that
    would reorder a report line); what is too long ends in an ellipsis.
    """
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    return kept if len(kept) <= limit else kept[: limit - 1] + "\u2026"


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return clean(f"{exc.verify_message} (verify code {exc.verify_code})")
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return clean(f"{exc.reason}: {exc.library or 'ssl'}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer within the timeout"
    return clean(f"{type(exc).__name__}: {exc}")


# --- handshakes -----------------------------------------------------------


class _Deadline:
    """The probe's total time budget; every connect and handshake fits inside it."""

    def __init__(self, budget: float, per_operation: float) -> None:
        self._end = time.monotonic() + budget
        self._per_operation = per_operation

    def timeout(self) -> float:
        """Seconds the next operation may take; 0 when the budget is spent."""
        return max(0.0, min(self._per_operation, self._end - time.monotonic()))


def _sni(host: Host) -> str | None:
    # The first hostname nmap knows, when it is a plausible DNS name: a
    # virtual-hosting server picks its certificate by it. Never an address.
    for name in host.hostnames:
        if _SNI_NAME.match(name) and not _is_ip(name):
            return name
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _handshake(
    host: Host, port: int, context: ssl.SSLContext, deadline: _Deadline
) -> ssl.SSLSocket:
    """A completed handshake; the caller closes the socket. Raises OSError on failure."""
    timeout = deadline.timeout()
    if timeout <= 0:
        raise TimeoutError("time budget spent")
    raw = socket.create_connection((host.address, port), timeout=timeout)
    try:
        tls = context.wrap_socket(raw, server_hostname=_sni(host), do_handshake_on_connect=False)
    except BaseException:
        raw.close()
        raise
    try:
        # CPython bounds the whole handshake by one deadline of this timeout,
        # not each read: a server that drips bytes cannot stretch it.
        tls.settimeout(max(deadline.timeout(), 0.001))
        tls.do_handshake()
    except BaseException:
        tls.close()
        raise
    return tls


def _version_context(version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(_PERMISSIVE_CIPHERS)
    context.minimum_version = version
    context.maximum_version = version
    return context


def try_version(host: Host, port: int, version: TlsVersion, deadline: _Deadline) -> Attempt:
    if not version.available:
        return Attempt(version.label, UNTESTABLE, f"{ssl.OPENSSL_VERSION} lacks {version.label}")
    try:
        context = _version_context(version.version)
    except (ValueError, ssl.SSLError) as exc:
        return Attempt(version.label, UNTESTABLE, f"local OpenSSL: {_error_line(exc)}")
    if deadline.timeout() <= 0:
        return Attempt(version.label, UNTESTABLE, "the probe's time budget was spent")
    try:
        with _handshake(host, port, context, deadline) as tls:
            cipher = tls.cipher()
            detail = clean(f"{tls.version()} {cipher[0] if cipher else ''}".strip())
            der = tls.getpeercert(binary_form=True)
            return Attempt(version.label, ACCEPTED, detail, version.version, der)
    except ssl.SSLError as exc:
        if exc.reason in _LOCAL_REASONS:
            # Raised before anything was sent: the local library, not the server.
            return Attempt(version.label, UNTESTABLE, f"local OpenSSL: {_error_line(exc)}")
        return Attempt(version.label, REFUSED, _error_line(exc))
    except (ConnectionRefusedError, socket.gaierror) as exc:
        return Attempt(version.label, UNTESTABLE, f"could not connect: {_error_line(exc)}")
    except TimeoutError as exc:
        if deadline.timeout() <= 0:
            # Cut short by the probe's budget, not by the server's silence.
            return Attempt(version.label, UNTESTABLE, "the probe's time budget was spent")
        return Attempt(version.label, REFUSED, _error_line(exc))
    except OSError as exc:
        # A reset, a closed connection or a silence after the ClientHello: the
        # server did not take this version (or does not speak TLS at all).
        return Attempt(version.label, REFUSED, _error_line(exc))


def _trust_context(version: ssl.TLSVersion, ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # names are matched separately, after RFC 6125
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_default_certs()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    if version < ssl.TLSVersion.TLSv1_2:
        # The only way to reach a TLS 1.0/1.1-only server; it also lowers the
        # key-size and hash checks of the chain (reported separately).
        context.set_ciphers(_PERMISSIVE_CIPHERS)
    context.minimum_version = version
    context.maximum_version = version
    return context


def check_trust(
    host: Host, port: int, version: ssl.TLSVersion, ca_file: Path | None, deadline: _Deadline
) -> tuple[str, str]:
    """("yes"|"no"|"unknown", evidence) from a handshake that verifies the chain."""
    where = "system trust store" + (f" and {ca_file}" if ca_file is not None else "")
    try:
        context = _trust_context(version, ca_file)
    except (OSError, ValueError) as exc:
        return "unknown", clean(f"trust store not loaded ({where}): {_error_line(exc)}")
    if deadline.timeout() <= 0:
        return "unknown", "the probe's time budget was spent"
    try:
        with _handshake(host, port, context, deadline):
            return "yes", clean(f"chain verified against the {where}")
    except ssl.SSLCertVerificationError as exc:
        return "no", _error_line(exc)
    except OSError as exc:
        return "unknown", clean(f"verifying handshake failed: {_error_line(exc)}")


# --- certificate ----------------------------------------------------------


def _key_label(cert: x509.Certificate) -> str:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "unknown"
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ec-{key.curve.key_size}"
    if isinstance(key, dsa.DSAPublicKey):
        return f"dsa-{key.key_size}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448"
    return "unknown"


def _signature_hash(cert: x509.Certificate) -> str:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unknown"
    # EdDSA signs without a separate hash.
    return "none" if algorithm is None else algorithm.name


def _signed_by_own_key(cert: x509.Certificate) -> bool:
    """Whether the certificate's signature verifies with its own public key.

    By hand: `verify_directly_issued_by` refuses SHA-1, and self-signed SHA-1
    certificates are exactly what must be recognised.
    """
    try:
        key = cert.public_key()
        algorithm = cert.signature_hash_algorithm
        signature, data = cert.signature, cert.tbs_certificate_bytes
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            params = cert.signature_algorithm_parameters
            pad = params if isinstance(params, padding.PSS) else padding.PKCS1v15()
            key.verify(signature, data, pad, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        elif isinstance(key, dsa.DSAPublicKey) and algorithm is not None:
            key.verify(signature, data, algorithm)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def _sans(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return (), ()
    dns = tuple(san.get_values_for_type(x509.DNSName)[:MATCH_LIMIT])
    ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)[:MATCH_LIMIT])
    return dns, ips


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    value = values[0].value if values else ""
    return clean(value if isinstance(value, str) else value.decode("latin-1"))


def parse_certificate(der: bytes) -> CertificateInfo:
    """The facts the probe reports. Raises ValueError for a certificate it cannot read."""
    try:
        cert = x509.load_der_x509_certificate(der)
        dns, ips = _sans(cert)
        self_signed = cert.issuer == cert.subject and _signed_by_own_key(cert)
        return CertificateInfo(
            subject_cn=_common_name(cert.subject),
            dns_names=dns,
            ip_addresses=ips,
            issuer=clean(cert.issuer.rfc4514_string()),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            key=_key_label(cert),
            signature_hash=_signature_hash(cert),
            signature_algorithm=clean(getattr(cert.signature_algorithm_oid, "_name", "")),
            self_signed=self_signed,
        )
    except (
        TypeError,
        UnsupportedAlgorithm,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
    ) as exc:
        # Every one of cryptography's lazy accessors may meet a malformed field.
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc


# --- names (RFC 6125) -----------------------------------------------------


def _normalise(name: str) -> str:
    return name.rstrip(".").lower()


def dns_name_matches(pattern: str, hostname: str) -> bool:
    """RFC 6125 section 6.4 matching of one SAN DNS name against a hostname.

    A wildcard is only the whole left-most label (`*.example.com`, not
    `w*.example.com`: CA/Browser Forum rules forbid partial wildcards), it
    stands for exactly one label, never for an IDN A-label (`xn--`), and it
    needs at least two labels after it (`*.com` matches nothing).
    """
    pattern, hostname = _normalise(pattern), _normalise(hostname)
    if not pattern or not hostname:
        return False
    if not pattern.startswith("*."):
        return "*" not in pattern and pattern == hostname
    suffix = pattern[2:]
    if "*" in suffix or suffix.count(".") < 1:
        return False
    first, _, rest = hostname.partition(".")
    return bool(first) and not first.startswith("xn--") and rest == suffix


def _ip_matches(address: str, sans: Iterable[str]) -> bool:
    try:
        wanted = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ipaddress.ip_address(ip) == wanted for ip in sans)


def hostname_match(host: Host, info: CertificateInfo) -> tuple[str, str]:
    """("yes"|"no"|"unknown", evidence) for the host's address and hostnames.

    The subject CN is not consulted (RFC 6125 section 6.4.4 allows it only
    without DNS SANs; browsers ignore it). "unknown" when nmap knew no
    hostname and the certificate names no IP address: the name clients use
    to reach the host is then not known to the scan.
    """
    if _ip_matches(host.address, info.ip_addresses):
        return "yes", clean(f"IP SAN {host.address}")
    for name in host.hostnames:
        for pattern in info.dns_names:
            if dns_name_matches(pattern, name):
                return "yes", clean(f"{name} matches SAN {pattern}")
    if not host.hostnames and not info.ip_addresses:
        return "unknown", clean(f"no hostname known for {host.address}; the SANs name no address")
    tried = ", ".join((host.address, *host.hostnames))
    return "no", clean(f"none of {tried} is in the SANs ({_san_text(info)})")


# --- observations ---------------------------------------------------------


def _san_text(info: CertificateInfo) -> str:
    entries = [clean(n, 80) for n in info.dns_names] + list(info.ip_addresses)
    shown = ", ".join(entries[:SAN_LIMIT]) or "none"
    more = len(entries) - SAN_LIMIT
    return shown + (f" (+{more} more)" if more > 0 else "")


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def certificate_facts(info: CertificateInfo, now: dt.datetime) -> list[tuple[str, str, str]]:
    """(key, value, evidence) for the certificate alone (no network)."""
    expired = now > info.not_after
    # Nearest whole day: "10 days" for a certificate made to last ten days a
    # moment ago; negative once expired.
    days = round((info.not_after - now).total_seconds() / 86400)
    validity = f"valid {_date(info.not_before)} to {_date(info.not_after)}"
    not_yet = "; not yet valid" if now < info.not_before else ""
    summary = (
        f"CN={info.subject_cn or '-'}, SAN={_san_text(info)}, issuer {info.issuer}, {validity}"
    )
    return [
        ("tls.certificate", "present", clean(summary, 4 * FIELD_LIMIT)),
        (
            "tls.cert_expired",
            "yes" if expired else "no",
            f"not after {_date(info.not_after)}" + not_yet,
        ),
        ("tls.cert_expires_in_days", str(days), f"not after {_date(info.not_after)}"),
        (
            "tls.cert_self_signed",
            "yes" if info.self_signed else "no",
            f"issuer {info.issuer}" + (", signed by its own key" if info.self_signed else ""),
        ),
        ("tls.cert_key", info.key, ""),
        *_rsa_bits(info),
        ("tls.cert_signature_hash", info.signature_hash, info.signature_algorithm),
    ]


def _rsa_bits(info: CertificateInfo) -> list[tuple[str, str, str]]:
    # A number for rules to compare (`at_least: 2048`), for RSA keys only.
    kind, _, bits = info.key.partition("-")
    return [("tls.cert_rsa_bits", bits, "")] if kind == "rsa" and bits.isdigit() else []


def _sslv3_fact() -> tuple[str, str, str]:
    why = (
        f"{ssl.OPENSSL_VERSION} cannot offer SSL 3.0 (removed from OpenSSL 3; "
        "prohibited by RFC 7568, as TLS 1.0/1.1 are by RFC 8996), so whether the server "
        "accepts it is not known"
    )
    return "tls.version.SSLv3", UNTESTABLE, why


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    deadline = _Deadline(ctx.time_budget, ctx.timeout)
    attempts = [try_version(host, service.port, version, deadline) for version in VERSIONS]
    accepted = [a for a in attempts if a.outcome == ACCEPTED]
    if not accepted:
        reasons = "; ".join(f"{a.label}: {a.detail}" for a in attempts)
        facts = [("tls.handshake", "failed", clean(reasons, 4 * FIELD_LIMIT))]
        return _observations(host, service, facts)
    best = accepted[0]  # VERSIONS is highest first
    facts = [("tls.handshake", "ok", best.detail), _sslv3_fact()]
    # Reported lowest first, the way people read protocol lists.
    facts += [(f"tls.version.{a.label}", a.outcome, a.detail) for a in reversed(attempts)]
    facts += _certificate_observations(host, service, ctx, best, deadline)
    return _observations(host, service, facts)


def _certificate_observations(
    host: Host, service: Service, ctx: ProbeContext, best: Attempt, deadline: _Deadline
) -> list[tuple[str, str, str]]:
    if not best.der or best.version is None:
        return [("tls.certificate", "none", "the server sent no certificate")]
    try:
        info = parse_certificate(best.der)
    except ValueError as exc:
        return [("tls.certificate", "unparsable", clean(str(exc)))]
    facts = certificate_facts(info, dt.datetime.now(dt.UTC))
    # ProbeContext gains `ca_file` (the user's private CA); older contexts lack it.
    ca_file: Path | None = getattr(ctx, "ca_file", None)
    trusted = check_trust(host, service.port, best.version, ca_file, deadline)
    facts.append(("tls.cert_trusted", *trusted))
    facts.append(("tls.cert_hostname_match", *hostname_match(host, info)))
    return facts


def _observations(
    host: Host, service: Service, facts: Iterable[tuple[str, str, str]]
) -> tuple[Observation, ...]:
    return tuple(
        Observation(
            host=host.address, port=service.port, probe=PROBE, key=key, value=value, evidence=ev
        )
        for key, value, ev in facts
    )


SPEC = ProbeSpec(PROBE, applies, probe)
