"""Running a data-store probe in a test, and reading what it found: facts
by key, evidence, all the text a reader could see, and whether any raw value
or password got into it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from scanner.model import Host, Observation, Service
from scanner.probes.context import Probe, ProbeContext, ProbeSpec
from scanner.probes.credentials import StoreCredential, load_credentials
from scanner.probes.datastores.report import StoreReport, observations
from scanner.probes.personal_data import FieldReport
from scanner.probes.runner import run_probes
from tests.factories import make_host
from tests.scanner.probes.peers import Report

Observations = tuple[Observation, ...]

# Facts of a store by how it is reached: plaintext only, or TLS only.
PLAINTEXT_ONLY = {"store.tls_offered": "no", "store.plaintext_allowed": "yes"}
TLS_ONLY = {"store.tls_offered": "yes", "store.plaintext_allowed": "no"}


def scan(probe: Probe, address: str, port: int, name: str, ctx: ProbeContext) -> Observations:
    """The probe run against one open TCP service nmap called `name`."""
    service = Service(port, "tcp", "open", name=name)
    return tuple(probe(Host(address, services=(service,)), service, ctx))


def reported(
    report: Report, address: str, port: int, ctx: ProbeContext
) -> tuple[StoreReport, Observations]:
    """The probe's report, and the observations it becomes."""
    found = report(address, port, ctx)
    return found, observations(found, address, port)


def run_without_error(
    spec: ProbeSpec, address: str, service: Service, ctx: ProbeContext
) -> Observations:
    """The probe run the way a scan runs it, by `run_probes`, which would
    record anything it raised as a probe error: there must be none."""
    host = make_host(address=address, services=(service,))
    found, errors = run_probes([host], ctx, {spec.name: spec})
    assert errors == ()
    return found


def facts(found: Observations) -> dict[str, str]:
    return {o.key: o.value for o in found}


def assert_facts(found: Observations, expected: Mapping[str, str | None]) -> None:
    """The observations hold these keys with these values (None: no such
    key), and maybe others."""
    seen = facts(found)
    assert {key: seen.get(key) for key in expected} == dict(expected)


def evidence(found: Observations, key: str) -> str:
    return next(o.evidence for o in found if o.key == key)


def gaps(found: Observations) -> list[str]:
    return [o.evidence for o in found if o.key == "store.gap"]


def observed_text(found: Observations) -> str:
    """Every key, value and evidence, as a reader of the results would see them."""
    return "\n".join(f"{o.key}={o.value} {o.evidence}" for o in found)


def report_text(found: StoreReport) -> str:
    """Everything a report holds, as text."""
    return repr(found) + found.auth_evidence + found.tls_evidence + "".join(found.gaps)


def field(found: StoreReport, container: str, name: str) -> FieldReport:
    """Field `name` of the container called `container`."""
    return next(
        f for c in found.containers if c.name == container for f in c.fields if f.name == name
    )


def assert_kept_out(secret: str, found: StoreReport, observed: Observations = ()) -> None:
    """Neither the report nor its observations hold `secret`."""
    assert secret not in report_text(found)
    assert secret not in observed_text(observed)


def strings_in(node: object, shortest: int = 5) -> set[str]:
    """Every string in a JSON-like document, long enough not to be a common word."""
    if isinstance(node, dict):
        return {s for value in node.values() for s in strings_in(value, shortest)}
    if isinstance(node, list):
        return {s for item in node for s in strings_in(item, shortest)}
    return {node} if isinstance(node, str) and len(node) >= shortest else set()


def assert_nothing_leaks(text: str, raw: Iterable[str], *secrets: str) -> None:
    leaked = sorted(v for v in raw if v in text)
    assert not leaked, leaked[:5]
    for secret in secrets:
        assert secret not in text


def auditor(
    directory: Path, store: str, address: str, password: str
) -> tuple[StoreCredential, ...]:
    """User `auditor` of `store` on `address`, read from a credentials file
    the way `--credentials` reads one."""
    path = directory / "credentials.yaml"
    path.write_text(
        "credentials:\n"
        f"  - store: {store}\n"
        f"    host: {address}\n"
        "    username: auditor\n"
        f"    password: {password!r}\n"
    )
    return load_credentials(path)
