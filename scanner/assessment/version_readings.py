"""How the version rules read each service's version, said for the report.

A version may be a range only (no version rule applies), unknown, or a
distribution build whose vendor may have backported fixes; the report shows
this beside each service so that a reader knows why a version rule did or
did not fire.
"""

from __future__ import annotations

from scanner.banners.products import identify
from scanner.model import Host
from scanner.rule_engine.backports import attribute, builtin_shipped, host_distribution


def version_labels(host: Host) -> dict[int, str]:
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
