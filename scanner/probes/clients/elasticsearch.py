"""HTTP GET for the Elasticsearch probe, bounded in time and bytes: every
reply read with a byte cap (a multiple of `ProbeContext.max_bytes`) and cut
off at the probe's deadline (headers too: the session's watchdog shuts the
connection down then, `http.watched_session`), no redirect followed, no
proxy or `~/.netrc` from the environment, TLS asked about but not judged.
Why no reply came is said in a few words of our own, never the bytes a
target sent.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests
from urllib3.exceptions import InsecureRequestWarning

from scanner.probes.clients.http import watched_session
from scanner.probes.clients.wire import USER_AGENT, Watchdog
from scanner.probes.context import ProbeContext
from scanner.probes.credentials import StoreCredential
from scanner.probes.evidence import printable

# Replies may be this many times ProbeContext.max_bytes: a mapping or a page
# of _cat/indices is bigger than a banner.
REPLY_CAP_FACTOR = 16
_CHUNK = 16 * 1024


class HttpFailure(Exception):
    """No usable HTTP reply: refused, timed out, too big, or not HTTP."""

    def __init__(self, reason: str, tls_error: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tls_error = tls_error


class Garbage(Exception):
    """A reply that is HTTP but not what Elasticsearch sends."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


def _read(response: requests.Response, cap: int, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise HttpFailure(f"a reply of {declared} bytes is over the {cap}-byte cap")
    body = bytearray()
    for chunk in response.iter_content(chunk_size=_CHUNK):
        body += chunk
        if len(body) > cap:
            raise HttpFailure(f"a reply over the {cap}-byte cap")
        if time.monotonic() > deadline:
            raise HttpFailure("the probe's time budget ran out mid-reply")
    return bytes(body)


@dataclass(frozen=True)
class Http:
    """GET against one base URL, bounded in time and bytes."""

    base: str
    session: requests.Session
    ctx: ProbeContext
    deadline: float
    watchdog: Watchdog  # the session's: it ends every connection at the deadline
    authorization: str = field(default="", repr=False)  # a Basic header: holds a password

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Reply:
        if time.monotonic() > self.deadline:
            raise HttpFailure("the probe's time budget is spent")
        headers = {"Authorization": self.authorization} if self.authorization else {}
        try:
            with warnings.catch_warnings():
                # TLS is only asked whether it is there; the certificate is not judged here.
                warnings.simplefilter("ignore", InsecureRequestWarning)
                response = self.session.get(
                    self.base + path,
                    params=params,
                    headers=headers,
                    timeout=(self.ctx.timeout, self.ctx.timeout),
                    stream=True,
                    allow_redirects=False,
                    verify=False,
                )
            with response:
                cap = self.ctx.max_bytes * REPLY_CAP_FACTOR
                return Reply(response.status_code, _read(response, cap, self.deadline))
        except requests.RequestException as exc:
            if self.watchdog.fired:
                raise HttpFailure("the probe's time budget ran out mid-reply") from None
            tls_error = isinstance(exc, requests.exceptions.SSLError)
            raise HttpFailure(_failure(exc, self.ctx.timeout), tls_error) from None


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: requests nests urllib3's reason deep."""
    found: list[BaseException] = []
    todo: list[object] = [exc]
    while todo and len(found) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or item in found:
            continue
        found.append(item)
        todo += [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]
    return found


def _failure(exc: requests.RequestException, timeout: float) -> str:
    """Why no reply came, in a few plain words (never the bytes a target sent)."""
    causes = _causes(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no reply within {timeout:g} s"
    if any(isinstance(c, ConnectionRefusedError) or "refused" in str(c) for c in causes):
        return "connection refused"
    # A reset or a close (RemoteDisconnected is a ConnectionResetError): HTTPS-only nodes do this.
    if any(isinstance(c, ConnectionResetError) for c in causes):
        return "the server hung up without a reply"
    if any(isinstance(c, http.client.BadStatusLine) for c in causes):
        return "an answer that is not HTTP"
    return printable(f"{type(exc).__name__}: {exc}", 120)


def http_session(watchdog: Watchdog) -> requests.Session:
    # No proxy and no ~/.netrc password from the environment (watched_session).
    session = watched_session(watchdog)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


def basic(credential: StoreCredential) -> str:
    # Built by hand: requests encodes Basic credentials as Latin-1, Elasticsearch reads UTF-8.
    token = base64.b64encode(f"{credential.username}:{credential.password}".encode())
    return "Basic " + token.decode("ascii")


def parse_json(reply: Reply) -> object:
    try:
        return json.loads(reply.body)
    except (ValueError, RecursionError):
        raise Garbage(f"HTTP {reply.status} with a body that is not JSON") from None


def error_of(reply: Reply) -> str:
    """Elasticsearch's error type and reason, or the start of whatever came back."""
    try:
        document = parse_json(reply)
    except Garbage:
        document = None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        return printable(f"{reply.status} {error.get('type', 'error')}: {error.get('reason', '')}")
    if isinstance(error, str):
        return printable(f"{reply.status} {error}")
    return printable(f"HTTP {reply.status}: {reply.body[:80].decode('utf-8', 'replace')}")
