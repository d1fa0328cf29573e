"""Small helpers the text formats share: endpoints, ordering, severity scores."""

from __future__ import annotations

from collections.abc import Iterable

from scanner.model import Finding, Severity, address_key


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


# GitHub code scanning reads `security-severity` as a CVSS-like score: over 9.0
# is critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
FIXED_SCORE = {
    Severity.CRITICAL: 9.5,
    Severity.HIGH: 8.0,
    Severity.MEDIUM: 5.5,
    Severity.LOW: 3.0,
    Severity.INFO: 0.0,
}


def max_cvss(finding: Finding) -> float | None:
    scores = [v.cvss_score for v in finding.vulnerabilities if v.cvss_score is not None]
    return max(scores) if scores else None


def score(finding: Finding) -> float:
    """The real CVSS score when the finding's vulnerabilities carry one, else by severity."""
    cvss = max_cvss(finding)
    return cvss if cvss is not None else FIXED_SCORE[finding.severity]
