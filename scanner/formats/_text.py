"""Small helpers the text formats share: endpoints, ordering, CVSS scores."""

from __future__ import annotations

from collections.abc import Iterable

from scanner.model import Finding, ScanResult, address_key


def endpoint(host: str, port: int | None) -> str:
    """`host:port` as a person writes it (`[::1]:80` for IPv6), or the host alone."""
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by host, port and rule: the same order every run."""
    return sorted(
        findings,
        key=lambda f: (
            -f.severity.rank,
            address_key(f.host),
            -1 if f.port is None else f.port,
            f.rule_id,
            f.fingerprint,
        ),
    )


def risk_order(result: ScanResult) -> list[Finding]:
    """Highest risk first when assessed, else most severe; ties in `ordered` order."""
    base = ordered(result.findings)
    if result.assessment is None:
        return base
    risks = {r.fingerprint: r.score for r in result.assessment.findings}
    position = {id(f): i for i, f in enumerate(base)}
    return sorted(base, key=lambda f: (-risks.get(f.fingerprint, -1.0), position[id(f)]))


# Said wherever a CVSS score would stand and the data holds none: no score is
# made up from the severity (the Apache project's records carry none at all).
NO_CVSS = "no CVSS in the data"


def max_cvss(finding: Finding) -> float | None:
    """The highest real CVSS score of the finding's known vulnerabilities, if any has one."""
    scores = [v.cvss_score for v in finding.vulnerabilities if v.cvss_score is not None]
    return max(scores) if scores else None
