"""The HTML risk report: one self-contained file rendered with Jinja2.

Autoescaping is on for everything, since most strings in a ScanResult came
from a target; the page loads nothing from outside and its
Content-Security-Policy forbids it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import jinja2

from scanner.backports import attribute, builtin_shipped, host_distribution
from scanner.model import Finding, Host, ScanResult, Severity
from scanner.products import identify
from scanner.resources import reports_dir
from scanner.rules import address_key


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _hosts(result: ScanResult) -> list[Host]:
    return sorted(result.hosts, key=lambda h: address_key(h.address))


def _findings_by_host(findings: Iterable[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.host] = counts.get(finding.host, 0) + 1
    return counts


def _version_label(host: Host) -> dict[int, str]:
    """Per port, the version as rules read it, or why there is none."""
    labels: dict[int, str] = {}
    host_distro = host_distribution(host)
    for service in host.services:
        parsed = attribute(identify(service), host_distro, builtin_shipped()).version
        if parsed.is_range:
            labels[service.port] = f"range only ({parsed.raw}): no version rule applies"
        elif not parsed.known:
            labels[service.port] = "version unknown"
        else:
            label = str(parsed.version)
            if parsed.distro_reason:
                label += f" (maybe a {parsed.distro} build: {parsed.distro_reason})"
            elif parsed.distro:
                label += f" ({parsed.distro} build: fixes may be backported)"
            labels[service.port] = label
    return labels


# Host observations shown as the host's packet-filter posture, in this order.
_POSTURE_KEYS = {
    "firewall.posture": "From the network",
    "firewall.ack": "ACK scan",
    "local.firewall": "Host's own rules",
    "local.ufw": "ufw",
    "local.firewalld": "firewalld",
}


def _postures(result: ScanResult) -> dict[str, list[tuple[str, str, str]]]:
    """Per host: (what, verdict, evidence) for each posture observation, in order."""
    found = {
        (obs.host, obs.key): obs
        for obs in result.observations
        if obs.port is None and obs.key in _POSTURE_KEYS
    }
    shown: dict[str, list[tuple[str, str, str]]] = {}
    for host in result.hosts:
        for key, what in _POSTURE_KEYS.items():
            obs = found.get((host.address, key))
            if obs is not None:
                verdict = obs.value.replace("-", " ")
                shown.setdefault(host.address, []).append((what, verdict, obs.evidence))
    return shown


def _web_tokens(result: ScanResult) -> dict[str, dict[int, str]]:
    """Per host and port, the software the HTTP headers named (`Server: ...`)."""
    tokens: dict[str, dict[int, str]] = {}
    for obs in result.observations:
        if obs.key == "http.tokens" and obs.port is not None:
            tokens.setdefault(obs.host, {})[obs.port] = obs.evidence or obs.value
    return tokens


class HtmlFormatter:
    def format(self, result: ScanResult) -> str:
        template = _environment().get_template("report.html.j2")
        counts = result.severity_counts()
        return template.render(
            result=result,
            severities=list(reversed(Severity)),
            counts=counts,
            worst=next((s for s in reversed(Severity) if counts[s]), None),
            hosts=_hosts(result),
            findings_by_host=_findings_by_host(result.findings),
            version_labels={h.address: _version_label(h) for h in result.hosts},
            postures=_postures(result),
            web_tokens=_web_tokens(result),
        )
