"""A scan with many findings, for the report's large-scale tests: N findings
over N/20 hosts, 40 rules in six categories, every severity, a fifth of the
findings with a list of known vulnerabilities (one list per rule), scored by
the real risk assessment. Deterministic: the same N gives the same scan."""

from __future__ import annotations

from functools import lru_cache

from scanner.assessment.risk import assessed
from scanner.model import Confidence, ScanResult, Severity, Vulnerability
from tests.factories import make_finding, make_host, make_result, make_service

CATEGORIES = ("outdated-software", "end-of-life", "exposure", "configuration", "tls", "data")
SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)
PORTS = (22, 80, 443, 3306, 5432, 6379)
RULES = 40


def address(n: int) -> str:
    return f"10.{n // 62500 % 256}.{n // 250 % 250}.{n % 250 + 1}"


def needle(i: int) -> str:
    """A word in finding i's evidence and nowhere else."""
    return f"needle-{i:06d}-x"


def vulnerabilities(rule: int) -> tuple[Vulnerability, ...]:
    return tuple(
        Vulnerability(
            id=f"CVE-2024-{rule:02d}{k:03d}",
            severity=SEVERITIES[k % 4],
            cvss_score=round(9.8 - k * 0.3, 1),
            cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            fixed_in=(f"2.4.{60 + k}",),
            references=(f"https://nvd.nist.gov/vuln/detail/CVE-2024-{rule:02d}{k:03d}",),
        )
        for k in range(5)
    )


@lru_cache(maxsize=2)
def many_findings(count: int) -> ScanResult:
    hosts = max(1, count // 20)
    findings = []
    for i in range(count):
        rule = i % RULES
        host = i * 7919 % hosts  # spread over the hosts, not in order
        port = PORTS[i % len(PORTS)]
        findings.append(
            make_finding(
                rule_id=f"{CATEGORIES[rule % len(CATEGORIES)]}-rule-{rule:02d}",
                title=f"Weakness number {rule:02d} of the generated scan",
                severity=SEVERITIES[(rule + i // RULES) % len(SEVERITIES)],
                confidence=(Confidence.CONFIRMED, Confidence.HIGH, Confidence.MEDIUM)[i % 3],
                category=CATEGORIES[rule % len(CATEGORIES)],
                host=address(host),
                port=port + i // (hosts * len(PORTS)),  # one finding a host, port and rule
                subject=str(i),
                evidence=(f"generated evidence {needle(i)}", f"line two of finding {i}"),
                description=f"What weakness {rule:02d} is, in a few words a reader can search.",
                remediation=f"Fix weakness {rule:02d} by doing the right thing.",
                vulnerabilities=vulnerabilities(rule) if rule % 5 == 0 else (),
            )
        )
    result = make_result(
        hosts=tuple(
            make_host(address=address(n), services=(make_service(port=80),)) for n in range(hosts)
        ),
        findings=tuple(findings),
        observations=(),
    )
    return assessed(result)
