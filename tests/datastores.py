"""Real data stores for the data-store probe tests, on 127.0.40.x.

PostgreSQL, MariaDB, Redis and Memcached from their Debian packages, each in
three variants (open, password, tls), seeded with the fake customers of
`fixtures/datastores/customers.py`. A kind's servers start together the first
time a test asks for one of them (`Stores.get`); all stop at the end of the
session. A store whose program is missing skips its tests with the reason;
one that is installed but does not come up fails them with its log.
Passwords are made afresh each session and never logged.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fixtures.datastores.customers import stored_passwords
from fixtures.datastores.servers import (
    KINDS,
    PORTS,
    VARIANTS,
    Certificate,
    RunningStore,
    StartFailed,
    StoreSpec,
    Unavailable,
    make_certificate,
    start_store,
)

PREFIX = "127.0.40"
# postgresql .1-.3, mysql .4-.6, redis .7-.9, memcached .10-.12, in VARIANTS order.
OCTETS = {
    (kind, variant): 1 + 3 * k + v
    for k, kind in enumerate(KINDS)
    for v, variant in enumerate(VARIANTS)
}


@dataclass(frozen=True)
class StoreServer:
    kind: str  # postgresql, mysql, redis, memcached
    variant: str  # open, password, tls
    address: str
    port: int
    username: str = ""
    # Out of repr: test reports print fixtures' values.
    password: str = field(default="", repr=False)
    ca_file: Path | None = None  # the tls variant's: the self-signed certificate to trust
    package_version: str = ""  # the Debian package's: 15.20-0+deb12u1


class Stores:
    """The session's data stores: started on first use, stopped by `stop()`."""

    def __init__(self, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self._lock = threading.Lock()
        self._root: Path | None = None
        self._certificate: Certificate | None = None
        self._passwords = {kind: secrets.token_urlsafe(18) for kind in KINDS}
        self._started: set[str] = set()
        self._running: dict[tuple[str, str], RunningStore] = {}
        self._problems: dict[tuple[str, str], Unavailable | StartFailed] = {}

    def spec(self, kind: str, variant: str) -> StoreSpec:
        password = self._passwords[kind] if variant == "password" else ""
        address = f"{self.prefix}.{OCTETS[kind, variant]}"
        return StoreSpec(kind, variant, address, PORTS[kind], password)

    def start(self, kinds: Iterable[str] = KINDS) -> None:
        """Start every variant of `kinds` not started yet, all in parallel."""
        with self._lock:
            wanted = [k for k in dict.fromkeys(kinds) if k not in self._started]
            if not wanted:
                return
            unknown = set(wanted) - set(KINDS)
            if unknown:
                raise ValueError(f"no such store: {', '.join(sorted(unknown))}")
            specs = [self.spec(kind, variant) for kind in wanted for variant in VARIANTS]
            # Hash the bcrypt passwords once, before the seeding threads all want them.
            stored_passwords()
            certificate = self._ensure_certificate()
            with ThreadPoolExecutor(max_workers=len(specs)) as pool:
                outcomes = list(pool.map(lambda s: self._start_one(s, certificate), specs))
            for spec, outcome in zip(specs, outcomes, strict=True):
                key = (spec.kind, spec.variant)
                if isinstance(outcome, RunningStore):
                    self._running[key] = outcome
                else:
                    self._problems[key] = outcome
            self._started.update(wanted)

    def get(self, kind: str, variant: str) -> StoreServer:
        """The running store; skips the test if its program is missing, fails
        it (with the server's log) if the server did not start."""
        if variant not in VARIANTS:
            raise ValueError(f"no such variant: {variant}")
        self.start([kind])
        problem = self._problems.get((kind, variant))
        if isinstance(problem, Unavailable):
            pytest.skip(f"{kind} {variant}: {problem}")
        if problem is not None:
            pytest.fail(f"{kind} {variant} did not start: {problem}", pytrace=False)
        running = self._running[kind, variant]
        spec = running.spec
        return StoreServer(
            kind=kind,
            variant=variant,
            address=spec.address,
            port=spec.port,
            username=spec.username,
            password=spec.password,
            ca_file=running.ca_file,
            package_version=running.package_version,
        )

    def stop(self) -> None:
        with self._lock:
            # In parallel: memcached with TLS or auth takes a second to stop.
            with ThreadPoolExecutor(max_workers=len(self._running) or 1) as pool:
                list(pool.map(RunningStore.stop, self._running.values()))
            self._running.clear()
            self._problems.clear()
            self._started.clear()
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None
                self._certificate = None

    def _ensure_certificate(self) -> Certificate | Unavailable | StartFailed:
        if self._certificate is None:
            self._root = Path(tempfile.mkdtemp(prefix="trustscan-stores-"))
            self._root.chmod(0o755)  # servers that drop root copy the files from here
            tls = [self.spec(kind, "tls").address for kind in KINDS]
            try:
                self._certificate = make_certificate(self._root, tls)
            except (Unavailable, StartFailed) as exc:
                return exc  # each tls variant then skips or fails, saying why
        return self._certificate

    @staticmethod
    def _start_one(
        spec: StoreSpec, certificate: Certificate | Unavailable | StartFailed
    ) -> RunningStore | Unavailable | StartFailed:
        try:
            if isinstance(certificate, Certificate):
                return start_store(spec, certificate)
            if spec.variant == "tls":
                return certificate
            return start_store(spec)
        except (Unavailable, StartFailed) as exc:
            return exc
        except OSError as exc:
            return StartFailed(f"{type(exc).__name__}: {exc}")
