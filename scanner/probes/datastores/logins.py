"""Whom a store probe tries to log in as, and what a login says in the report.

Every store probe tries in the same order: no credential first (an open
store lets that in), then the user's credentials for this store and address
(`--credentials`), then the vendor defaults when `--try-default-credentials`
asks for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scanner.probes.context import ProbeContext
from scanner.probes.credentials import DEFAULTS, StoreCredential
from scanner.probes.datastores.report import Auth

SAID_LOGINS = 6  # failed logins quoted in evidence


def credentials(store: str, address: str, port: int, ctx: ProbeContext) -> list[StoreCredential]:
    """The user's credentials for this store, then (if asked) the vendor defaults."""
    found = list(ctx.credentials_for(store, address, port))
    if ctx.try_default_credentials:
        found += [c for c in DEFAULTS if c.store == store]
    return found


def auth_for(credential: StoreCredential) -> Auth:
    return Auth.DEFAULT_CREDENTIALS if credential.source == "default" else Auth.SUPPLIED_CREDENTIALS


@dataclass(frozen=True)
class Attempt:
    """One login to try: a user name, with a credential or with no password at all."""

    credential: StoreCredential | None  # None: no password at all
    user: str

    @property
    def password(self) -> str:
        return self.credential.password if self.credential else ""

    def accepted(self, without_password: str) -> tuple[Auth, str]:
        """The auth and evidence when this login worked; `without_password`
        is the evidence for a login that needed no password."""
        if self.credential is None:
            return Auth.NONE, without_password
        return auth_for(self.credential), f"logged in with {self.credential.label}"


def attempts(
    store: str, address: str, port: int, ctx: ProbeContext, without_password: Sequence[str]
) -> list[Attempt]:
    """The users `without_password` with no password, then `credentials()`."""
    found = [Attempt(None, user) for user in without_password]
    return found + [Attempt(c, c.username) for c in credentials(store, address, port, ctx)]


def none_accepted(said: Sequence[str], spoke: bool) -> tuple[Auth, str]:
    """The auth and evidence when no login worked: credentials are required
    when the server itself turned a login down, else we cannot tell."""
    tried = "; ".join(said[:SAID_LOGINS]) or "no login attempted"
    if not spoke:
        return Auth.UNKNOWN, f"the server did not answer a login: {tried}"
    return Auth.REQUIRED, f"no login worked: {tried}"
