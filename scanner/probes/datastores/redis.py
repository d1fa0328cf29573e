"""Redis: does it answer without a password, does it speak TLS or plaintext,
and which key patterns hold personal data (with record counts).

TLS and plaintext are read at the socket level (a TLS handshake; an inline
`PING`), because a driver hides what the port itself accepts. The session
then goes through redis-py over whichever the port speaks, on a socket that
bounds every reply (`ProbeContext.max_bytes`) and every read (the per-read
timeout and the probe's time budget): `redis_link`. Only read commands run
(`redis_keyspace`): `INFO keyspace`, `SCAN ... COUNT` (never `KEYS *`),
`TYPE`, `HLEN`/`HKEYS`/`HSCAN` for hash field names; values (`HGET`,
`GETRANGE` after `STRLEN`, a few set, list and sorted-set members) are read
only with `--inspect-data`, and go straight to the personal-data detectors,
which mask them.

Redis error replies can echo a command's arguments (`unknown command 'AUTH',
with args beginning with: ...`), so evidence is built here from the reply's
error code and never from a server or driver message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

from redis.exceptions import ResponseError

from scanner.model import Host, Observation, Service
from scanner.probes.clients.redis import Link, Lost, RedisTarget, authenticate, error_code
from scanner.probes.clients.wire import Deadline, LineReply
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.keyspace import read_session
from scanner.probes.datastores.logins import auth_for, credentials
from scanner.probes.datastores.redis_keyspace import Reader, inventory
from scanner.probes.datastores.report import Auth, StoreReport, Tristate, observations
from scanner.probes.datastores.transport import line_transport
from scanner.probes.evidence import clean

STORE = "redis"


def applies(service: Service) -> bool:
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.name == "redis" or service.product.startswith("Redis"))
    )


# --- logging in ------------------------------------------------------------------


@dataclass(frozen=True)
class _Login:
    auth: Auth
    evidence: str
    credential: StoreCredential | None = None
    link: Link | None = None


def _try_credentials(
    target: RedisTarget, attempts: Sequence[StoreCredential], said: list[str]
) -> _Login | None:
    for credential in attempts:
        if target.deadline.expired:
            said.append("the time budget ran out")
            break
        try:
            link = target.open()
        except Lost as lost:
            said.append(f"AUTH with {credential.label}: {lost.reason}")
            continue
        try:
            refused = authenticate(link, credential)
            if not refused:
                link.call("PING")
                evidence = f"AUTH with {credential.label} accepted"
                return _Login(auth_for(credential), evidence, credential, link)
            said.append(f"AUTH with {credential.label}: -{refused}")
        except Lost as lost:
            said.append(f"AUTH with {credential.label}: {lost.reason}")
        except ResponseError as exc:
            said.append(f"AUTH with {credential.label}: PING then -{error_code(exc)}")
        link.close()
    return None


def _login(target: RedisTarget, ctx: ProbeContext) -> _Login:
    over = " over TLS" if target.tls else ""
    try:
        link = target.open()
    except Lost as lost:
        return _Login(Auth.UNKNOWN, f"no session{over}: {lost.reason}")
    try:
        reply = link.call("PING")
    except Lost as lost:
        if not lost.code:
            return _Login(Auth.UNKNOWN, f"PING{over} without AUTH: {lost.reason}")
        code = lost.code
    except ResponseError as exc:
        code = error_code(exc)
        link.close()
    else:
        if reply in (b"PONG", "PONG", True):
            return _Login(Auth.NONE, f"PING{over} without AUTH answered +PONG", link=link)
        link.close()
        return _Login(Auth.UNKNOWN, f"PING{over} without AUTH answered {clean(repr(reply))}")
    said = [f"PING{over} without AUTH answered -{code}"]
    if code == "DENIED":
        # Protected mode: no password set, and only loopback clients let in.
        return _Login(Auth.REQUIRED, said[0] + " (protected mode: loopback clients only)")
    if code not in ("NOAUTH", "WRONGPASS", "NOPERM", "ERR"):
        return _Login(Auth.UNKNOWN, said[0])
    attempts = credentials(STORE, target.address, target.port, ctx)
    found = _try_credentials(target, attempts, said)
    if found is not None:
        return replace(found, evidence=f"{said[0]}; {found.evidence}")
    if not attempts:
        said.append("no credentials to try (--credentials, --try-default-credentials)")
    return _Login(Auth.REQUIRED, "; ".join(said[:8]))


# --- the probe -----------------------------------------------------------------


def plaintext_answer(reply: LineReply) -> Tristate:
    """Whether a plaintext PING got a Redis answer (+PONG, or an error reply
    such as -NOAUTH or -DENIED)."""
    line = reply.line or b""
    if line.startswith(b"+PONG"):
        return Tristate.YES
    code = line[1:].split(b" ", 1)[0]
    if line.startswith(b"-") and code.isupper() and code.isalpha():
        return Tristate.YES
    return Tristate.NO


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    deadline = Deadline.after(ctx.time_budget)
    # Redis serves TLS on a port of its own (tls-port), never beside
    # plaintext on one port; and a handshake would only time out, since
    # Redis waits for a newline the ClientHello's NUL bytes hide.
    plaintext_only = "no TLS: the port speaks Redis in plaintext"
    speaks = line_transport(
        address, port, ctx.timeout, deadline, "PING", plaintext_answer, plaintext_only
    )
    if not speaks.usable:
        # Neither plaintext Redis nor TLS: not something we can talk to.
        return speaks.report(STORE, Auth.UNKNOWN, f"no Redis answer: {speaks.answer}")
    target = RedisTarget(address, port, speaks.plaintext is not Tristate.YES, ctx, deadline)
    login = _login(target, ctx)
    base = speaks.report(STORE, login.auth, login.evidence)
    if login.link is None:
        return base
    reader = Reader(target, login.link, login.credential, ctx)
    containers = read_session(partial(inventory, reader), reader.close, reader.gaps)
    identity = ""
    if login.credential is not None:
        identity = login.credential.username or "default"
    return base.with_inventory(identity, containers, reader.gaps, ctx.inspect_data)


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
