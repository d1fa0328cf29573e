"""The HTML report's hosts: one view a host with its service versions, the
packet-filter posture a host, and the data stores found and what they hold."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from scanner.assessment.risk import risk_level
from scanner.assessment.version_readings import version_labels
from scanner.formats._text import endpoint
from scanner.model import Host, ScanResult, Severity, address_key


@dataclass(frozen=True)
class HostView:
    host: Host
    anchor: str
    score: float | None
    level: str
    system: str
    owner: str
    findings: int
    worst: Severity | None
    versions: dict[int, str]
    tokens: dict[int, str]


def _web_tokens(result: ScanResult) -> dict[str, dict[int, str]]:
    """Per host and port, the software the HTTP headers named (`Server: ...`)."""
    tokens: dict[str, dict[int, str]] = {}
    for obs in result.observations:
        if obs.key == "http.tokens" and obs.port is not None:
            tokens.setdefault(obs.host, {})[obs.port] = obs.evidence or obs.value
    return tokens


def host_anchors(result: ScanResult) -> dict[str, str]:
    """An id per host address: addresses come from targets, so ids are made, not copied."""
    addresses = sorted({h.address for h in result.hosts}, key=address_key)
    return {a: f"h-{i}" for i, a in enumerate(addresses)}


def host_views(result: ScanResult, anchors: dict[str, str]) -> list[HostView]:
    assessment = result.assessment
    risks = {h.host: h for h in assessment.hosts} if assessment else {}
    counts = Counter(f.host for f in result.findings)
    worst: dict[str, Severity] = {}
    for f in result.findings:
        if f.host not in worst or f.severity.rank > worst[f.host].rank:
            worst[f.host] = f.severity
    tokens = _web_tokens(result)
    views = []
    for host in sorted(result.hosts, key=lambda h: address_key(h.address)):
        risk = risks.get(host.address)
        score = risk.score if risk else (0.0 if assessment else None)
        views.append(
            HostView(
                host=host,
                anchor=anchors[host.address],
                score=score,
                level=risk_level(score).name if score is not None else "",
                system=risk.system if risk else "",
                owner=risk.owner if risk else "",
                findings=counts.get(host.address, 0),
                worst=worst.get(host.address),
                versions=version_labels(host),
                tokens=tokens.get(host.address, {}),
            )
        )
    return views


@dataclass(frozen=True)
class Fact:
    """An observation as shown: its value, a tone for colour and its evidence."""

    value: str
    tone: str
    evidence: str


# Host observations shown as the host's packet-filter posture, in this order.
POSTURE_KEYS = {
    "firewall.posture": "From the network",
    "firewall.ack": "ACK scan",
    "local.firewall": "Host's own rules",
    "local.ufw": "ufw",
    "local.firewalld": "firewalld",
}
_TONES = {
    "filtered": "good",
    "default-deny": "good",
    "active": "good",
    "running": "good",
    "required": "good",
    "partially-filtered": "warn",
    "accepting-policy": "warn",
    "supplied-credentials": "warn",
    "unfiltered": "bad",
    "none": "bad",
    "inactive": "bad",
    "not-running": "bad",
    "default-credentials": "bad",
}


def _fact(value: str, evidence: str, tones: dict[str, str] | None = None) -> Fact:
    tone = (tones or _TONES).get(value, "neutral")
    return Fact(value.replace("-", " "), tone, evidence)


@dataclass(frozen=True)
class FirewallRow:
    host: str
    anchor: str
    cells: tuple[Fact | None, ...]


def firewall_rows(result: ScanResult, anchors: dict[str, str]) -> list[FirewallRow]:
    """Per host with any posture observation: one cell per posture key, in order."""
    found = {
        (obs.host, obs.key): obs
        for obs in result.observations
        if obs.port is None and obs.key in POSTURE_KEYS
    }
    hosts = sorted({host for host, _key in found}, key=address_key)
    return [
        FirewallRow(
            host,
            anchors.get(host, ""),
            tuple(
                _fact(o.value, o.evidence) if (o := found.get((host, key))) else None
                for key in POSTURE_KEYS
            ),
        )
        for host in hosts
    ]


@dataclass(frozen=True)
class StoreCategory:
    category: str
    records: int | None
    evidence: str


@dataclass(frozen=True)
class StoreView:
    host: str
    port: int
    where: str
    service: str
    auth: Fact | None
    tls_offered: Fact | None
    plaintext: Fact | None
    personal: Fact | None
    categories: tuple[StoreCategory, ...]
    records: int | None
    notes: tuple[tuple[str, Fact], ...]


_YES_GOOD = {"yes": "good", "no": "bad"}
_YES_BAD = {"yes": "bad", "no": "good"}
# Store observations shown as notes under a store, in this order.
_STORE_NOTES = {
    "store.password_storage": ("Password storage", {"plaintext": "bad", "unsalted-hash": "bad"}),
    "store.card_numbers_plaintext": ("Card numbers in the clear", {}),
    "store.contact_data": ("Contact data", {}),
    "store.gap": ("Could not read", {}),
}


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def store_views(result: ScanResult) -> list[StoreView]:
    by_store: dict[tuple[str, int], dict[str, list[tuple[str, str]]]] = {}
    for obs in result.observations:
        if obs.port is not None and obs.key.startswith("store."):
            keys = by_store.setdefault((obs.host, obs.port), {})
            keys.setdefault(obs.key, []).append((obs.value, obs.evidence))
    services = {(h.address, s.port): s for h in result.hosts for s in h.services}

    def one(keys: dict[str, list[tuple[str, str]]], key: str, tones: dict[str, str]) -> Fact | None:
        seen = keys.get(key)
        return _fact(seen[0][0], seen[0][1], tones) if seen else None

    views = []
    for (host, port), keys in sorted(
        by_store.items(), key=lambda i: (address_key(i[0][0]), i[0][1])
    ):
        service = services.get((host, port))
        categories = tuple(
            StoreCategory(key.removeprefix("store.pii."), _int(value), evidence)
            for key in sorted(k for k in keys if k.startswith("store.pii."))
            for value, evidence in keys[key]
        )
        records = keys.get("store.records")
        notes = tuple(
            (label, _fact(value, evidence, tones))
            for key, (label, tones) in _STORE_NOTES.items()
            for value, evidence in keys.get(key, ())
        )
        views.append(
            StoreView(
                host=host,
                port=port,
                where=endpoint(host, port),
                service=(f"{service.name} {service.banner}".strip() if service else ""),
                auth=one(keys, "store.auth", _TONES),
                tls_offered=one(keys, "store.tls_offered", _YES_GOOD),
                plaintext=one(keys, "store.plaintext_allowed", _YES_BAD),
                personal=one(keys, "store.personal_data", _YES_BAD),
                categories=categories,
                records=_int(records[0][0]) if records else None,
                notes=notes,
            )
        )
    return views
