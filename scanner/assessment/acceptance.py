"""Accepted risks: findings the team decided to live with, each until a date
(`--accept FILE`, or `.trustscan-accept.yaml` in the current directory).

The file is YAML validated against `reports/accept.schema.json`; every
problem names its file and line, and any problem stops the command (exit 2),
before a scan starts. An entry matches a finding when every matcher it names
matches:

- `rule`: the rule id, an fnmatch pattern (`apache-httpd-*`);
- `host`: an address, a CIDR network, or a name: an fnmatch pattern matched
  against the host's names and the system the inventory calls it (the system
  name the assessment gave the host, so `report` matches it without the
  inventory again);
- `port`: the finding's port; only with one of the others, as a port alone
  would accept any weakness that turns up on it, on any machine;
- `fingerprint`: the finding's fingerprint, as the JSON result lists it.

An entry that would match every finding (`rule: "*"` and nothing narrower)
is refused for the same reason. Each entry also says why (`reason`), who
answers for it (`owner`) and until when (`expires`, the last day it counts).

`accepted` applies a file to a finished, assessed result: it runs after
`scanner.assessment.risk.assessed`, so it sees the fingerprints the reports
show. Accepted findings stay in the result, marked (`Finding.accepted`);
the first entry in file order that still counts wins. A finding whose only
matching entries are past their date is marked `expired` (the gate counts it
again), and those entries are listed in `AcceptanceCheck.expired`; entries
that matched no finding are listed as stale, for the file to be cleaned up.
"""

from __future__ import annotations

import heapq
import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.model import Acceptance, AcceptanceCheck, Finding, ScanResult
from scanner.support.problems import FileProblem, FileProblems
from scanner.support.resources import reports_dir

if TYPE_CHECKING:
    import jsonschema

# Looked for in the current directory when no --accept is given (as Trivy
# reads .trivyignore).
DEFAULT_ACCEPT_FILE = ".trustscan-accept.yaml"
_MAX_ACCEPT_BYTES = 4 * 1024 * 1024
_MAX_SHOWN = 200  # characters of a schema message: it may quote what the file holds

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def accept_schema_path() -> Path:
    """The JSON Schema of an accepted-risks file (shipped with the report templates)."""
    return reports_dir() / "accept.schema.json"


class AcceptError(FileProblems):
    what = "accepted-risks file"


@dataclass(frozen=True)
class AcceptEntry:
    """One accepted risk: what it matches, why, whose, until when."""

    source: str  # FILE:LINE
    reason: str
    owner: str
    expires: date  # the last day it counts
    rule: str = ""  # an fnmatch pattern of rule ids, lower case
    host: str = ""  # as written
    port: int | None = None
    fingerprint: str = ""  # lower case
    # The host as a network (an address is a one-address network); None: a name pattern.
    network: Network | None = None

    def expired(self, today: date) -> bool:
        return today > self.expires

    def matches(self, finding: Finding, names: Iterable[str]) -> bool:
        """Whether the finding is this entry's; `names` are the host's names
        and system, lower case."""
        if self.fingerprint and finding.fingerprint.lower() != self.fingerprint:
            return False
        if self.port is not None and finding.port != self.port:
            return False
        if self.rule and not fnmatchcase(finding.rule_id.lower(), self.rule):
            return False
        if not self.host:
            return True
        if self.network is not None:
            address = _address(finding.host)
            return address is not None and address in self.network
        pattern = self.host.lower()
        return any(name == pattern or fnmatchcase(name, pattern) for name in names)

    def describe(self) -> str:
        """`FILE:LINE: rule R, host H, port P`: where the entry is and what it matches."""
        parts = [
            f"{label} {value}"
            for label, value in (
                ("rule", self.rule),
                ("host", self.host),
                ("port", self.port),
                ("fingerprint", self.fingerprint),
            )
            if value
        ]
        return f"{self.source}: {', '.join(parts)}"


@dataclass(frozen=True)
class AcceptedRisks:
    """A loaded accepted-risks file."""

    source: str  # the file, as given
    entries: tuple[AcceptEntry, ...]


def load_accepted(path: Path) -> AcceptedRisks:
    """Load and validate an accepted-risks file; raise `AcceptError` on any problem."""
    # Imported here: the command line imports this module for the file's
    # default name, and `--help` needs no YAML reader.
    from scanner.support.yaml_files import (
        YamlFileError,
        error_path,
        line_of,
        read_yaml,
        schema_validator,
    )

    try:
        node, data = read_yaml(path, _MAX_ACCEPT_BYTES, "accepted-risks file")
    except YamlFileError as exc:
        raise AcceptError([exc.problem]) from None
    data = _dates_as_text(data)
    validator = schema_validator(accept_schema_path())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.path)))
    problems = [FileProblem(path, line_of(node, error_path(e)), _describe(e)) for e in errors]
    items = data.get("accepted") if isinstance(data, dict) else None
    entries: list[AcceptEntry] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        entry_problems = _entry_problems(item)
        for key, message in entry_problems:
            at: list[str | int] = ["accepted", index, key] if key else ["accepted", index]
            where = f"accepted.{index}" + (f".{key}" if key else "")
            problems.append(FileProblem(path, line_of(node, at), f"{where}: {message}"))
        if not problems:
            entries.append(_entry(item, f"{path}:{line_of(node, ['accepted', index])}"))
    if problems:
        raise AcceptError(sorted(problems, key=lambda p: p.line))
    return AcceptedRisks(str(path), tuple(entries))


def _dates_as_text(data: Any) -> Any:
    """YAML reads `expires: 2027-03-31` as a date; the schema checks text."""
    items = data.get("accepted") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return data
    entries = [
        {**item, "expires": item["expires"].isoformat()}
        if isinstance(item, dict) and isinstance(item.get("expires"), date)
        else item
        for item in items
    ]
    return {**data, "accepted": entries}


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "file"
    key = error.absolute_path[-1] if error.absolute_path else ""
    if error.validator == "anyOf" and isinstance(error.instance, dict):
        return (
            f"{where}: an entry names a rule, a host or a fingerprint "
            "(a port alone would accept any weakness on any machine)"
        )
    if error.validator == "pattern" and key == "expires":
        return f"{where}: a date, YYYY-MM-DD"
    if error.validator == "pattern" and key == "fingerprint":
        return f"{where}: the hexadecimal fingerprint of a finding, as the JSON result lists it"
    if error.validator == "pattern":
        return f"{where}: must not be empty"
    if error.validator == "type" and isinstance(error.validator_value, str):
        wanted = {"string": "text", "integer": "a whole number"}.get(error.validator_value)
        return f"{where}: must be {wanted or 'a ' + error.validator_value}"
    message = error.message
    if len(message) > _MAX_SHOWN:
        message = message[: _MAX_SHOWN - 3] + "..."
    return f"{where}: {message}"


def _entry_problems(item: dict[str, Any]) -> list[tuple[str, str]]:
    """What the schema cannot say of an entry: a real date, a real address
    or network, and that it does not accept everything."""
    problems: list[tuple[str, str]] = []
    expires = item.get("expires")
    if isinstance(expires, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", expires):
        try:
            date.fromisoformat(expires)
        except ValueError:
            problems.append(("expires", f"{expires} is not a date"))
    host = item.get("host")
    network: Network | None = None
    if isinstance(host, str):
        try:
            network = _network(host)
        except ValueError as exc:
            problems.append(("host", str(exc)))
    # `rule: "*"` or `host: 0.0.0.0/0` with nothing narrower beside it accepts
    # every finding, also those of weaknesses nobody has seen yet.
    rule = item.get("rule")
    wild_rule = isinstance(rule, str) and rule != "" and set(rule) <= {"*"}
    wild_host = isinstance(host, str) and (
        (network is None and host != "" and set(host) <= {"*"})
        or (network is not None and network.prefixlen == 0)
    )
    if (
        (wild_rule or wild_host)
        and (wild_rule or "rule" not in item)
        and (wild_host or "host" not in item)
        and "fingerprint" not in item
    ):
        on_port = " on its port" if "port" in item else ""
        problems.append(
            (
                "",
                f"this entry would accept every finding{on_port}: "
                "name a rule, a host or a fingerprint",
            )
        )
    return problems


_NUMERIC = re.compile(r"[0-9.]+")


def _network(host: str) -> Network | None:
    """The host matcher as a network; None for a name pattern. ValueError:
    it looks like an address or network and is not one."""
    if "/" in host:
        try:
            return ipaddress.ip_network(host, strict=False)
        except ValueError:
            raise ValueError(f"{host!r} is not a network (e.g. 10.0.0.0/24)") from None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # Host names hold no colons and are not all digits: a typo'd address
        # would otherwise be a name that never matches, silently.
        if ":" in host or _NUMERIC.fullmatch(host):
            raise ValueError(f"{host!r} is not an IP address") from None
        return None
    return ipaddress.ip_network(address)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _entry(item: dict[str, Any], source: str) -> AcceptEntry:
    host = item.get("host", "")
    return AcceptEntry(
        source=source,
        reason=item["reason"].strip(),
        owner=item["owner"].strip(),
        expires=date.fromisoformat(item["expires"]),
        rule=item.get("rule", "").lower(),
        host=host,
        port=item.get("port"),
        fingerprint=item.get("fingerprint", "").lower(),
        network=_network(host) if host else None,
    )


def accepted(result: ScanResult, risks: AcceptedRisks, today: date) -> ScanResult:
    """The result with every finding's acceptance judged again on `today`
    (marks from an earlier file are replaced) and what the file did."""
    names = _host_names(result)
    by_fingerprint: dict[str, list[int]] = {}
    others: list[int] = []
    for index, entry in enumerate(risks.entries):
        if entry.fingerprint:
            by_fingerprint.setdefault(entry.fingerprint, []).append(index)
        else:
            others.append(index)
    used: set[int] = set()
    findings: list[Finding] = []
    counted = 0
    for finding in result.findings:
        host_names = names.get(finding.host, ())
        # File order decides which entry a finding shows; every match counts against staleness.
        matched = [
            index
            for index in _in_file_order(by_fingerprint.get(finding.fingerprint.lower(), []), others)
            if risks.entries[index].matches(finding, host_names)
        ]
        used.update(matched)
        valid = [i for i in matched if not risks.entries[i].expired(today)]
        chosen = valid[0] if valid else matched[0] if matched else None
        mark = None
        if chosen is not None:
            entry = risks.entries[chosen]
            mark = Acceptance(
                owner=entry.owner,
                expires=entry.expires.isoformat(),
                reason=entry.reason,
                source=entry.source,
                expired=not valid,
            )
            counted += bool(valid)
        findings.append(replace(finding, accepted=mark))
    expired = tuple(
        f"{entry.describe()}; expired after {entry.expires.isoformat()}"
        for index, entry in enumerate(risks.entries)
        if index in used and entry.expired(today)
    )
    stale = tuple(
        entry.describe()
        + (f"; expired after {entry.expires.isoformat()}" if entry.expired(today) else "")
        for index, entry in enumerate(risks.entries)
        if index not in used
    )
    check = AcceptanceCheck(
        source=risks.source,
        checked_on=today.isoformat(),
        accepted=counted,
        expired=expired,
        stale=stale,
    )
    return replace(result, findings=tuple(findings), acceptance=check)


def _in_file_order(first: list[int], second: list[int]) -> Iterator[int]:
    return heapq.merge(first, second)


def _host_names(result: ScanResult) -> dict[str, tuple[str, ...]]:
    """Per address: its host names and the system the assessment (from the
    inventory) calls it, lower case, for the name matchers."""
    names: dict[str, list[str]] = {}
    for host in result.hosts:
        names.setdefault(host.address, []).extend(
            name.lower().rstrip(".") for name in host.hostnames
        )
    if result.assessment is not None:
        for risk in result.assessment.hosts:
            if risk.system:
                names.setdefault(risk.host, []).append(risk.system.lower())
    return {address: tuple(dict.fromkeys(found)) for address, found in names.items()}


def today_or(given: date | datetime | None) -> date:
    """The day expiry is judged on: the one given, else today on this machine's clock."""
    if isinstance(given, datetime):
        return given.date()
    # The local calendar day: `expires` is a day as the file's author meant it.
    return given if given is not None else date.today()
