"""Real web servers for the HTTP and TLS tests, on 127.0.60.x.

Apache (plain HTTP, with the misconfigurations a scan should find) and five
nginx HTTPS servers (well configured, expired certificate, self-signed,
legacy TLS, no HSTS): see `fixtures/web/servers.py` for what each shows.
They all start together the first time a test asks for one (`Websites.get`)
and stop at the end of the session. A site whose program is missing (or, for
the legacy-TLS one, whose OpenSSL cannot do TLS 1.0) skips its tests with the
reason; one that is installed but does not come up fails them with its log.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.processes import Unavailable
from fixtures.web.servers import NAMES, SPECS, Sites, start


@dataclass(frozen=True)
class Site:
    name: str  # apache, nginx-valid, nginx-expired, ...
    server: str  # apache2 | nginx
    address: str
    ports: tuple[int, ...]
    scheme: str  # http | https (on the last port)
    demonstrates: str
    package_version: str  # the Debian package's: 1.22.1-9+deb12u11
    cert_file: Path | None = None  # the served certificate (PEM)
    ca_file: Path | None = None  # the test CA that signed it, if it did

    @property
    def port(self) -> int:
        return self.ports[-1]


class Websites:
    """The session's web servers: started on first use, stopped by `stop()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sites: Sites | None = None

    def start(self) -> Sites:
        with self._lock:
            if self._sites is None:
                self._sites = start(SPECS)
            return self._sites

    @property
    def ca_file(self) -> Path | None:
        ca = self.start().ca
        return ca.cert if ca is not None else None

    def get(self, name: str) -> Site:
        """The running site; skips the test if it cannot run here, fails it
        (with the server's log) if it did not start."""
        if name not in NAMES:
            raise ValueError(f"no such site: {name}")
        sites = self.start()
        problem = sites.problems.get(name)
        if isinstance(problem, Unavailable):
            pytest.skip(f"{name}: {problem}")
        if problem is not None:
            pytest.fail(f"{name} did not start: {problem}", pytrace=False)
        running = sites.running[name]
        spec = running.spec
        cert = running.cert
        return Site(
            name=name,
            server=spec.server,
            address=spec.address,
            ports=spec.ports,
            scheme=spec.scheme,
            demonstrates=spec.demonstrates,
            package_version=running.package.version,
            cert_file=cert.cert if cert is not None else None,
            ca_file=cert.ca if cert is not None else None,
        )

    def available(self) -> list[Site]:
        """Every site that runs here (none skipped or failed)."""
        sites = self.start()
        return [self.get(name) for name in NAMES if name in sites.running]

    def stop(self) -> None:
        with self._lock:
            if self._sites is not None:
                self._sites.stop()
                self._sites = None
