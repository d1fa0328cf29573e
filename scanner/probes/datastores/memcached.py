"""Memcached: does it answer without authentication, does it speak TLS or
plaintext, and which key patterns hold personal data.

There is no driver here: a small client for memcached's ASCII protocol
(`memcached_client`) bounds every read in bytes and time. Only `version`,
`stats`, `lru_crawler metadump all` (memcached 1.4.31 and later) and, with
`--inspect-data`, `get` of a few small items per key pattern are sent. With
`-Y` (an auth file) memcached answers `CLIENT_ERROR unauthenticated` until a
client sends `set <any key> 0 0 <n>` with `user password` as the value;
that `set` is sent only to a server that asked for it, so nothing is stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from scanner.model import Host, Observation, Service
from scanner.probes.clients.memcached import Item, Listing, McClient, McError, list_keys
from scanner.probes.clients.wire import Deadline, LineReply, Target
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.credentials import StoreCredential
from scanner.probes.datastores.keyspace import (
    JSON_BYTES,
    KeyTally,
    estimate,
    read_session,
    summarise_values,
)
from scanner.probes.datastores.logins import auth_for, credentials
from scanner.probes.datastores.report import (
    Auth,
    Container,
    StoreReport,
    Tristate,
    observations,
)
from scanner.probes.datastores.transport import line_transport
from scanner.probes.evidence import clean

STORE = "memcached"
# Items whose stored size (key, value and item header) is above this are not
# fetched: their first bytes are not what a detector needs.
SAMPLE_ITEM_BYTES = JSON_BYTES + 512
# A key safe to put on a command line: printable ASCII, no spaces, 250 bytes at most.
_SAFE_KEY = re.compile(rb"[!-~]{1,250}")
_BUSY = "memcached's LRU crawler was busy (a crawl or dump already running): keys not listed"
_NOT_LISTABLE = (
    "memcached cannot list its keys (lru_crawler metadump answered {!r}: it needs "
    "memcached 1.4.31 or later with the LRU crawler enabled)"
)


def applies(service: Service) -> bool:
    return (
        service.protocol == "tcp"
        and service.state == "open"
        and (service.name in ("memcached", "memcache") or service.product.startswith("Memcached"))
    )


def plaintext_answer(reply: LineReply) -> Tristate:
    """Whether a plaintext `version` got a memcached answer (its version, or
    an authentication error)."""
    line = reply.line or b""
    if line.startswith((b"VERSION ", b"CLIENT_ERROR", b"SERVER_ERROR")):
        return Tristate.YES
    return Tristate.NO


# --- logging in ------------------------------------------------------------------


class _Target(Target):
    def open(self) -> McClient:
        return McClient.open(self.address, self.port, self.tls, self.ctx.timeout, self.deadline)


@dataclass(frozen=True)
class _Login:
    auth: Auth
    evidence: str
    credential: StoreCredential | None = None


def _sendable(credential: StoreCredential) -> bool:
    # The token is one line, user and password split at the first space.
    return not any(c in credential.username for c in " \r\n") and not any(
        c in credential.password for c in "\r\n"
    )


def _try(target: _Target, credential: StoreCredential) -> str:
    """One authentication on a fresh connection: "" on success, else what happened."""
    client = target.open()
    try:
        reply = client.authenticate(credential.username, credential.password)
        if reply != b"STORED":
            return f"answered {clean(reply.split(b' ', 1)[0], 20)!r}"
        check = client.request(b"version")
        return "" if check.startswith(b"VERSION ") else f"then version answered {clean(check)!r}"
    finally:
        client.close()


def _try_credentials(target: _Target, said: list[str]) -> _Login | None:
    ctx = target.ctx
    for credential in credentials(STORE, target.address, target.port, ctx):
        if not _sendable(credential):
            said.append(f"{credential.label}: a space or line break memcached cannot take")
            continue
        try:
            refused = _try(target, credential)
        except McError as exc:
            said.append(f"authentication as {credential.label}: {exc.reason}")
            continue
        if not refused:
            evidence = f"authentication as {credential.label} accepted"
            return _Login(auth_for(credential), evidence, credential)
        said.append(f"authentication as {credential.label} {refused}")
    return None


def _login(target: _Target) -> _Login:
    over = " over TLS" if target.tls else ""
    try:
        client = target.open()
        try:
            reply = client.request(b"version")
        finally:
            client.close()
    except McError as exc:
        return _Login(Auth.UNKNOWN, f"version{over}: {exc.reason}")
    first = f"version{over} without authentication answered {clean(reply)!r}"
    if reply.startswith(b"VERSION "):
        return _Login(Auth.NONE, first)
    if not reply.startswith(b"CLIENT_ERROR"):
        return _Login(Auth.UNKNOWN, first)
    said = [first]
    found = _try_credentials(target, said)
    if found is not None:
        return replace(found, evidence=f"{first}; {found.evidence}")
    if len(said) == 1:
        said.append("no credentials to try (--credentials)")
    return _Login(Auth.REQUIRED, "; ".join(said[:8]))


# --- reading the items ---------------------------------------------------------------


@dataclass
class _Reader:
    target: _Target
    credential: StoreCredential | None
    gaps: list[str] = field(default_factory=list)
    client: McClient | None = None

    def session(self) -> McClient:
        """The open connection, (re)opened and logged in when needed."""
        if self.client is None:
            client = self.target.open()
            if self.credential is not None:
                reply = client.authenticate(self.credential.username, self.credential.password)
                if reply != b"STORED":
                    client.close()
                    raise McError("authentication refused on a new connection")
            self.client = client
        return self.client

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def _item_count(reader: _Reader) -> int | None:
    try:
        stats = reader.session().stats(reader.target.ctx.max_bytes)
    except McError as exc:
        reader.drop()
        reader.gaps.append(f"stats: {exc.reason}")
        return None
    count = stats.get("curr_items", "")
    return int(count) if count.isdigit() else None


def _listing(reader: _Reader) -> Listing | None:
    # The dump streams every item: on its own connection, closed when done.
    reader.drop()
    try:
        return list_keys(reader.session(), reader.target.ctx.max_keys)
    except McError as exc:
        reader.gaps.append(f"lru_crawler metadump: {exc.reason}")
        return None
    finally:
        reader.drop()


def _values(reader: _Reader, items: Sequence[Item]) -> list[str]:
    keys = [i.key for i in items if _SAFE_KEY.fullmatch(i.key) and i.size <= SAMPLE_ITEM_BYTES]
    if not keys:
        return []
    found = reader.session().get_many(keys, JSON_BYTES)
    return [v.decode("utf-8", "replace") for v in found.values()]


def _containers(reader: _Reader, listing: Listing, total: int | None) -> list[Container]:
    ctx = reader.target.ctx
    keep = ctx.sample_size if ctx.inspect_data else 0
    tally = KeyTally(keep)
    sizes: dict[bytes, int] = {}
    for item in listing.items:
        tally.add(item.key)
        sizes[item.key] = item.size
    if not listing.complete:
        reader.gaps.append(f"listed {tally.shortfall(total, 'items (--max-keys)')}")
    patterns = tally.largest(ctx.max_containers)
    if len(tally.counts) > len(patterns):
        reader.gaps.append(f"{len(tally.counts) - len(patterns)} more key pattern(s) not listed")
    containers: list[Container] = []
    for pattern in patterns:
        records = estimate(
            tally.counts[pattern], tally.visited, None if listing.complete else total
        )
        values: list[str] | None = None
        if ctx.inspect_data and not reader.target.deadline.expired:
            samples = [Item(k, sizes[k]) for k in tally.samples[pattern]]
            try:
                values = _values(reader, samples)
            except McError as exc:
                reader.gaps.append(f"{pattern}: reading values stopped: {exc.reason}")
                reader.drop()
        containers.append(
            Container(pattern, "key-pattern", records, summarise_values(pattern, values))
        )
        del values  # raw values end here; only the masked summary is kept
    return containers


def _inventory(reader: _Reader) -> list[Container]:
    total = _item_count(reader)
    listing = _listing(reader)
    if listing is not None and listing.refused:
        busy = listing.refused.startswith("BUSY")
        reader.gaps.append(_BUSY if busy else _NOT_LISTABLE.format(listing.refused))
    if listing is None or listing.refused:
        # What stats says is all there is to say: how many items, not what they are.
        return [Container("*", "key-pattern", total)] if total else []
    containers = _containers(reader, listing, total)
    if reader.target.deadline.expired:
        reader.gaps.append(
            f"the {reader.target.ctx.time_budget:g}s time budget ran out; the inventory is partial"
        )
    return containers


# --- the probe -----------------------------------------------------------------


def report(address: str, port: int, ctx: ProbeContext) -> StoreReport:
    deadline = Deadline.after(ctx.time_budget)
    speaks = line_transport(address, port, ctx.timeout, deadline, "version", plaintext_answer)
    if not speaks.usable:
        return speaks.report(STORE, Auth.UNKNOWN, f"no memcached answer: {speaks.answer}")
    target = _Target(address, port, speaks.plaintext is not Tristate.YES, ctx, deadline)
    login = _login(target)
    base = speaks.report(STORE, login.auth, login.evidence)
    if login.auth not in (Auth.NONE, Auth.SUPPLIED_CREDENTIALS, Auth.DEFAULT_CREDENTIALS):
        return base
    reader = _Reader(target, login.credential)
    containers = read_session(partial(_inventory, reader), reader.drop, reader.gaps)
    identity = login.credential.username if login.credential is not None else ""
    return base.with_inventory(identity, containers, reader.gaps, ctx.inspect_data)


def probe(host: Host, service: Service, ctx: ProbeContext) -> tuple[Observation, ...]:
    return observations(report(host.address, service.port, ctx), host.address, service.port)


SPEC = ProbeSpec(STORE, applies, probe)
