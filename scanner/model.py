"""The data model: one frozen dataclass per pipeline stage.

Every stage reads the types before it and produces its own; `ScanResult` is
the hub that reports, `report` and `diff` are built from.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Confidence(str, Enum):
    """How sure a finding is, after Greenbone's quality-of-detection scale.

    - confirmed: the weakness was shown by the target's behaviour (QoD ~ 95-100).
    - high: an upstream version taken from a banner, no vendor patches possible
      (QoD ~ 80, Greenbone's "remote_banner").
    - medium: inferred from indirect evidence, e.g. a version guessed from
      several signals or a product identified without its exact build.
    - low: a version from a distribution package (Debian, Ubuntu, Red Hat and
      CentOS builds) that may carry backported fixes (QoD ~ 30,
      "remote_banner_unreliable"); shown, never hidden.
    """

    CONFIRMED = "confirmed"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _CONFIDENCE_RANK[self]


_CONFIDENCE_RANK = {
    Confidence.LOW: 0,
    Confidence.MEDIUM: 1,
    Confidence.HIGH: 2,
    Confidence.CONFIRMED: 3,
}


class TargetKind(str, Enum):
    ADDRESS = "address"
    HOSTNAME = "hostname"


@dataclass(frozen=True)
class Target:
    """One address or hostname to scan, and where the user gave it."""

    value: str
    kind: TargetKind
    source: str


def address_key(address: str) -> tuple[int, int, str]:
    """Sort addresses numerically (127.0.0.9 before 127.0.0.10), names last."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (9, 0, address)
    return (ip.version, int(ip), address)


@dataclass(frozen=True)
class Reason:
    """Why nmap gave ports a state (`reset`, `no-response`, ...) and how many."""

    reason: str
    count: int


@dataclass(frozen=True)
class PortStateCount:
    """Ports nmap folded into `<extraports>`: a state, a count and its reasons."""

    state: str
    count: int
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Service:
    """One port nmap saw open (or open|filtered), with what -sV made of it."""

    port: int
    protocol: str
    state: str
    reason: str = ""
    name: str = ""
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    ostype: str = ""
    tunnel: str = ""
    method: str = ""
    conf: int = 0
    cpes: tuple[str, ...] = ()

    @property
    def banner(self) -> str:
        """Product, version and extra info as nmap prints them in one line."""
        parts = [self.product, self.version]
        if self.extrainfo:
            parts.append(f"({self.extrainfo})")
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Host:
    """A host that discovery reached, with its services and port-state counts."""

    address: str
    status: str = "up"
    status_reason: str = ""
    hostnames: tuple[str, ...] = ()
    services: tuple[Service, ...] = ()
    # Ports in a state nmap listed one by one but that are not services
    # (closed or filtered ports on short port lists).
    other_ports: tuple[PortStateCount, ...] = ()
    extraports: tuple[PortStateCount, ...] = ()
    # What nmap probed on this host, as `<scaninfo>` said: a port list when it
    # is short, else a count (nmap's top-1000 list would fill pages).
    probed_ports: str = ""


@dataclass(frozen=True)
class Observation:
    """A typed fact a probe established about a service or host."""

    host: str
    port: int | None
    probe: str
    key: str
    value: str
    evidence: str = ""


@dataclass(frozen=True)
class ProbeError:
    """A probe or a discovery batch that did not complete, and why."""

    stage: str
    target: str
    reason: str
    message: str
    port: int | None = None


@dataclass(frozen=True)
class TrustImpact:
    """What customer data is at stake and what a weakness means for trust."""

    data_at_stake: tuple[str, ...]
    impact: str


class BackportVerdict(str, Enum):
    """What a distribution's own advisories say of one CVE in the package a
    banner names (`9.2p1 Debian 2+deb12u10`)."""

    VULNERABLE = "vulnerable"  # the package is older than the advisory's fixed version
    FIXED = "fixed"  # the distribution fixed it in this package or an older one
    UNDECIDED = "undecided"  # no package revision in the banner, or no data on it


@dataclass(frozen=True)
class KnownExploited:
    """A CVE on CISA's Known Exploited Vulnerabilities catalogue."""

    added: str  # dateAdded: when CISA listed it as exploited in the wild
    due: str  # dueDate: when US federal agencies had to have fixed it
    ransomware: str = ""  # knownRansomwareCampaignUse: Known | Unknown
    catalog: str = ""  # the catalogue's version, e.g. 2025.08.25


@dataclass(frozen=True)
class Vulnerability:
    """One known vulnerability (a CVE) behind a grouped finding."""

    id: str
    severity: Severity
    # From the CVE record's own metrics (CVE 5.x, CISA's ADP); None: the data
    # holds no CVSS, and none is made up.
    cvss_score: float | None = None
    cvss_vector: str = ""
    vendor_severity: str = ""
    fixed_in: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    exploited: KnownExploited | None = None
    # The distribution's verdict when the service is a distribution's package
    # (None: an upstream build), and the advisory or reason behind it.
    backport: BackportVerdict | None = None
    backport_evidence: str = ""


class BaselineState(str, Enum):
    """A finding against the baseline it is compared with (SARIF's baselineState)."""

    NEW = "new"  # not in the baseline
    UNCHANGED = "unchanged"  # in the baseline, the same
    CHANGED = "changed"  # in the baseline; its severity, confidence or CVE list moved


@dataclass(frozen=True)
class Acceptance:
    """A risk the team accepted for a finding, from an accepted-risks file."""

    owner: str
    expires: str  # ISO date; after it the acceptance no longer counts
    reason: str
    source: str  # the entry: FILE:LINE
    expired: bool = False


@dataclass(frozen=True)
class Finding:
    """A weakness one rule found on one port (or host), with its evidence.

    `fingerprint` names what the finding is about, stable across scans: 24 hex
    digits of the SHA-256 of its rule id, its host's identity (the
    inventory's system name, as `system:NAME`, when the inventory names the
    host alone; else its address), its protocol and port, and its subject
    (the product of a version finding). Never the version, the title, the
    severity or the CVE list, which a fix or new advice changes: a baseline
    comparison, SARIF's partialFingerprints and accepted risks key on it."""

    rule_id: str
    title: str
    severity: Severity
    confidence: Confidence
    host: str
    port: int | None
    protocol: str
    service: str
    evidence: tuple[str, ...]
    description: str
    remediation: str
    trust: TrustImpact
    # Stable across scans: see the class docstring (and
    # `scanner.rule_engine.findings.fingerprint`, the one place it is made).
    fingerprint: str
    category: str = ""
    references: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    vulnerabilities: tuple[Vulnerability, ...] = ()
    # CVEs of the same group that the distribution fixed by a backport: not
    # part of the finding, listed with their advisory so the reader sees why.
    fixed_by_distribution: tuple[Vulnerability, ...] = ()
    # What the finding is about beyond its rule and port, for its fingerprint:
    # the product a version finding judged (`apache-httpd`, or the `openssl`
    # its banner names beside it), else "".
    subject: str = ""
    # Set when the result was compared with a baseline (`--baseline`, `diff`),
    # or an accepted-risks file.
    baseline: BaselineState | None = None
    accepted: Acceptance | None = None


@dataclass(frozen=True)
class DataSource:
    """Data a result was judged with (advisories, the KEV catalogue): how old
    it is, what it covers, and how to bring in the full or newer data."""

    name: str
    as_of: str
    coverage: str
    update: str = ""


@dataclass(frozen=True)
class BaselineComparison:
    """This result against an earlier one: what is new, changed, fixed."""

    source: str  # the baseline: a file, or a run of the history
    taken: str  # when the baseline's scan finished
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    # In the baseline, no longer found, and this scan looked: its host
    # answered and its port was probed (see `scanner.assessment.baseline`).
    fixed: tuple[Finding, ...] = ()
    # In the baseline, its host or port not scanned this time (not a target,
    # no answer, the port not probed or its probe failed): nothing is known
    # of it, and it is never counted as fixed.
    not_rescanned: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Execution:
    """Where the scan's batches ran (`scanner.execution`): this machine's
    threads, or a Dask cluster; and the batches that ran more than once
    because a worker died under them (their hosts counted once)."""

    executor: str  # "threads" or "dask"
    scheduler: str = ""  # the Dask scheduler's address; "" for a local cluster
    workers: tuple[str, ...] = ()  # the Dask workers that returned batches
    retried: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunPoint:
    """One recorded run of a scope, as the history panel draws it: when it
    finished and its findings by severity (critical, high, medium, low, info)."""

    run: int
    finished: str
    counts: tuple[int, ...]  # critical, high, medium, low, info


@dataclass(frozen=True)
class FirstSeen:
    """When the history first saw a finding (by fingerprint) in this scope."""

    fingerprint: str
    first_seen: str


@dataclass(frozen=True)
class RunHistory:
    """What the scan history says about this run (`scanner.history`): where it
    was recorded, its earlier runs of the same scope and each finding's first
    sighting. The report's history panel reads it."""

    store: str  # the store, as shown (a PostgreSQL URL without its password)
    scope: str
    run: int  # this run's number in the store; 0 when it could not be recorded
    runs: tuple[RunPoint, ...] = ()  # oldest first, this run last
    first_seen: tuple[FirstSeen, ...] = ()


@dataclass(frozen=True)
class AcceptanceCheck:
    """What an accepted-risks file did for this result."""

    source: str  # the file
    checked_on: str  # the day expiry was judged on (ISO date)
    accepted: int = 0  # findings accepted, still valid
    expired: tuple[str, ...] = ()  # entries past their date that matched: FILE:LINE and what
    stale: tuple[str, ...] = ()  # entries that matched nothing: FILE:LINE and what


@dataclass(frozen=True)
class NmapRun:
    """What nmap was and how it was called, one command line per batch."""

    version: str = ""
    commands: tuple[str, ...] = ()
    source: str = "nmap"  # "nmap" for a live run, or the path of an imported XML file


@dataclass(frozen=True)
class FindingRisk:
    """The risk score of one finding (0-100) and the factors that made it."""

    fingerprint: str
    score: float
    factors: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostRisk:
    """The risk score of one host (0-100) and who owns it, from the inventory."""

    host: str
    score: float
    system: str = ""
    owner: str = ""


@dataclass(frozen=True)
class PlanStep:
    """One remediation on one host and the findings it fixes; steps are ranked
    by their riskiest finding (see `scanner.assessment.risk`)."""

    rank: int
    host: str
    remediation: str
    score: float
    severity: Severity
    fingerprints: tuple[str, ...]
    titles: tuple[str, ...]
    system: str = ""
    owner: str = ""


@dataclass(frozen=True)
class CategoryAtRisk:
    """Customer data of one category on hosts that findings expose."""

    category: str
    records: int
    # Distinct customers, from the inventory's segments; None when no segment says.
    customers: int | None
    segments: tuple[str, ...]
    hosts: tuple[str, ...]
    # Where the category and count came from: inventory file:line, observed host:port.
    sources: tuple[str, ...]
    fingerprints: tuple[str, ...]


@dataclass(frozen=True)
class HostAtRisk:
    """One host whose customer data findings expose, and what it holds."""

    host: str
    records: int
    categories: tuple[str, ...]
    segments: tuple[str, ...]
    # Where the categories and counts came from: inventory file:line, observed host:port.
    sources: tuple[str, ...]
    fingerprints: tuple[str, ...]
    worst: Severity
    system: str = ""
    owner: str = ""


@dataclass(frozen=True)
class SegmentAtRisk:
    """A customer segment (from the inventory) whose data findings expose."""

    name: str
    customers: int
    categories: tuple[str, ...]
    hosts: tuple[str, ...]
    fingerprints: tuple[str, ...]


class DutyKind(str, Enum):
    GDPR_ART_33 = "gdpr-art-33"
    GDPR_ART_34 = "gdpr-art-34"
    PCI_DSS = "pci-dss"


@dataclass(frozen=True)
class Duty:
    """What the law or a card-brand contract would demand if the exposure were exploited."""

    kind: DutyKind
    title: str
    basis: str
    deadline: str
    who: str
    why: str
    fingerprints: tuple[str, ...]
    reference: str = ""


@dataclass(frozen=True)
class CostEstimate:
    """A breach-cost estimate: records (or customers) at risk times a per-record cost."""

    records: int
    counted: str
    per_record: float
    currency: str
    source: str
    total: float


@dataclass(frozen=True)
class Notice:
    """A draft first notice to one customer segment, prepared before it is needed."""

    segment: str
    customers: int | None
    categories: tuple[str, ...]
    subject: str
    known: str
    doing: str
    advice: tuple[str, ...]
    contact: str


@dataclass(frozen=True)
class CustomerTrust:
    """What the exposed findings mean for customers: data, people, duties, cost, notices."""

    records_at_risk: int = 0
    customers_at_risk: int | None = None
    categories: tuple[CategoryAtRisk, ...] = ()
    hosts: tuple[HostAtRisk, ...] = ()
    segments: tuple[SegmentAtRisk, ...] = ()
    duties: tuple[Duty, ...] = ()
    cost: CostEstimate | None = None
    notices: tuple[Notice, ...] = ()
    # The lowest severity counted as exposing a host's data.
    exposing_severity: Severity = Severity.MEDIUM


@dataclass(frozen=True)
class Assessment:
    """Risk scores per finding and per host, ranked, the remediation plan and
    the customer-trust summary (see `scanner.assessment.risk` and `scanner.assessment.trust`)."""

    findings: tuple[FindingRisk, ...] = ()
    hosts: tuple[HostRisk, ...] = ()
    inventory_source: str = ""
    plan: tuple[PlanStep, ...] = ()
    trust: CustomerTrust = field(default_factory=CustomerTrust)


@dataclass(frozen=True)
class CheckRun:
    """One kind of check on one host (`scanner.assessment.coverage.CHECKS`):
    how many of its services it looked at (one, the host, for a host-wide
    check), how many showed a weakness (a finding of low severity or worse),
    and how many it could not finish. The rest were checked and found clean."""

    check: str  # a key of CHECKS: versions, exposure, tls, web, datastores, ...
    checked: int
    weak: int = 0
    incomplete: int = 0
    # The services' ports, in order; empty for a host-wide check.
    ports: tuple[int, ...] = ()
    # What did not finish, or what a host-wide check saw, in words.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostCoverage:
    """The checks that ran on one host."""

    host: str
    checks: tuple[CheckRun, ...] = ()


@dataclass(frozen=True)
class GapCount:
    """Parts of the scan of one kind that did not happen (its probe errors),
    with a few of them named."""

    kind: str
    count: int
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class FixedGroup:
    """Known vulnerabilities of one product on one port that the host's
    distribution fixed in its package (backports): no finding for them."""

    host: str
    port: int | None
    product: str
    cves: tuple[str, ...]
    # No CVE of the group is left open: the product has no finding for them.
    entirely: bool = False
    evidence: tuple[str, ...] = ()  # the advisories that settle them


@dataclass(frozen=True)
class RecordCount:
    """How many customer records a host (port None) or one of its stores
    holds, and which source the count is from (`scanner.assessment.records`):
    the inventory, the store's statistics, or rows read from a dump."""

    host: str
    port: int | None
    records: int
    source: str
    where: str = ""  # the inventory entry (FILE:LINE) or what was counted


@dataclass(frozen=True)
class Coverage:
    """What the scan covered and what it did not (`scanner.assessment.coverage`):
    the ports and how they were chosen, the targets that did not answer or
    timed out, the parts that failed by kind, the checks that ran on each host
    and found nothing (negative evidence), the CVEs the distributions fixed,
    how each record count was made and what trustscan does not test at all."""

    ports: str  # which ports were scanned and how they were chosen
    not_scanned: str  # which were not
    unanswered: tuple[str, ...] = ()  # targets that did not answer
    # Targets, hosts and services whose scan or probe ran out of time, or that
    # held a probe's answer back (tarpits): "WHERE: what".
    timed_out: tuple[str, ...] = ()
    # Hosts nmap counted as up (-Pn) on which every port stayed silent.
    silent: tuple[str, ...] = ()
    gaps: tuple[GapCount, ...] = ()
    hosts: tuple[HostCoverage, ...] = ()
    fixed_by_distribution: tuple[FixedGroup, ...] = ()
    records: tuple[RecordCount, ...] = ()
    not_tested: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanResult:
    schema_version: str
    tool_version: str
    started: str
    finished: str
    targets: tuple[str, ...]
    nmap: NmapRun
    hosts: tuple[Host, ...] = ()
    observations: tuple[Observation, ...] = ()
    findings: tuple[Finding, ...] = ()
    probe_errors: tuple[ProbeError, ...] = ()
    rule_sources: tuple[str, ...] = field(default_factory=tuple)
    # Targets no host answered for: down, filtered from ping, or unresolvable.
    unanswered: tuple[str, ...] = ()
    assessment: Assessment | None = None
    # Which rules judged this result: count and a digest of the rule files.
    rule_set: str = ""
    # For a report of a part of a scan (`report --host/--min-severity`), which
    # part: "hosts 10.1.0.0/16; findings high or worse". Empty: the whole scan.
    selection: str = ""
    # Which ports were scanned and how they were chosen, in words.
    port_choice: str = ""
    # The advisory and exploit data behind the findings, with dates and coverage.
    data_sources: tuple[DataSource, ...] = ()
    baseline: BaselineComparison | None = None
    acceptance: AcceptanceCheck | None = None
    # The target set this run belongs to (`--scope`; empty: named by a digest
    # of the targets): runs of one scope are compared in the history, and
    # SARIF's automationDetails names it.
    scope: str = ""
    history: RunHistory | None = None
    execution: Execution | None = None
    # What the scan covered and did not; set when the result is assessed.
    coverage: Coverage | None = None

    def severity_counts(self) -> dict[Severity, int]:
        counts = dict.fromkeys(Severity, 0)
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts
