"""One web service's requests, bounded: at most `MAX_REQUESTS` (16) of them,
at most `MAX_BODY` (256 KiB) read of a response, the context's timeout on
each connect and read and its time budget on the service, headers and body
included: a `Watchdog` shuts the connection down at the deadline, however
slowly the server drips its bytes (`watched_session`). Redirects are
followed by hand, at most `MAX_REDIRECTS` (3), only on the same host: the same
scheme and port, or the upgrade from http to https. A request that gets no
answer is said in a few words of our own (`FetchFailed.kind`).

Certificates are not checked (the TLS probe judges them). A cookie's value is
never kept, nor a header other than the few we report on.
"""

from __future__ import annotations

import http.client
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from itertools import islice
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from scanner.probes.clients.wire import USER_AGENT, Deadline, Watchdog
from scanner.probes.context import ProbeContext
from scanner.probes.evidence import HEADER_CHARS, NAME_CHARS, clean

MAX_REQUESTS = 16
MAX_BODY = 256 * 1024
MAX_REDIRECTS = 3

_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_KEPT_HEADERS = frozenset(
    {"server", "x-powered-by", "x-aspnet-version", "strict-transport-security", "location"}
)

# Certificates are not verified on purpose (see above), so urllib3 would warn
# on every request. warnings.catch_warnings() is not thread-safe and probes run
# on threads, so the one category is ignored for the process instead.
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


def origin(scheme: str, address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{scheme}://{host}:{port}"


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def url_parts(url: str) -> tuple[str, str, int] | None:
    """Scheme, lower-case host and port of `url`; None if it is not a web URL."""
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    if split.scheme not in ("http", "https") or not split.hostname:
        return None
    return split.scheme, split.hostname.lower(), port or _default_port(split.scheme)


def may_follow(current: str, target: str) -> bool:
    """A redirect we follow: same host, and the same scheme and port or the upgrade to https."""
    here, there = url_parts(current), url_parts(target)
    if here is None or there is None or here[1] != there[1]:
        return False
    return (here[0], here[2]) == (there[0], there[2]) or (here[0], there[0]) == ("http", "https")


# --- what one response was ----------------------------------------------------------


@dataclass(frozen=True)
class Cookie:
    """A cookie a response set: its name and flags; its value is never kept."""

    name: str
    secure: bool
    http_only: bool
    same_site: bool

    @property
    def missing(self) -> tuple[str, ...]:
        flags = (("Secure", self.secure), ("HttpOnly", self.http_only))
        return tuple(
            name for name, present in (*flags, ("SameSite", self.same_site)) if not present
        )


@dataclass(frozen=True)
class Page:
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]  # lower-case name, bounded value; a few kept
    cookies: tuple[Cookie, ...]
    body: bytes
    truncated: bool  # the body went on past what was read

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key == name), "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        """Where a redirect points, absolute; "" for none."""
        target = self.header("location")
        if self.status not in _REDIRECT_CODES or not target:
            return ""
        try:
            return urljoin(self.url, target)
        except ValueError:
            return ""


@dataclass(frozen=True)
class Chain:
    """A GET and the redirects followed from it; `stopped` says why following ended early."""

    hops: tuple[Page, ...]
    stopped: str = ""  # "" | "other-host" | "too-many" | "unreachable"

    @property
    def final(self) -> Page:
        return self.hops[-1]


def parse_cookie(header: str) -> Cookie | None:
    """The name and flags of one Set-Cookie header; the value is dropped here."""
    first, _, rest = header[:4096].partition(";")
    name = first.partition("=")[0].strip()
    if not name or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
        return None
    attributes = {part.partition("=")[0].strip().lower() for part in rest.split(";")}
    return Cookie(
        name=name[:NAME_CHARS],
        secure="secure" in attributes,
        http_only="httponly" in attributes,
        same_site="samesite" in attributes,
    )


STOPPED = "stopped at the time budget"


class BudgetSpent(Exception):
    """The service's request count or time budget is used up."""


class FetchFailed(Exception):
    """A request did not get an answer: refused, reset, timed out, not HTTP."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _causes(exc: BaseException, depth: int = 0) -> Iterator[BaseException]:
    """`exc` and the exceptions inside it: requests wraps urllib3's, which wraps http.client's."""
    yield exc
    if depth > 4:
        return
    inner = [a for a in exc.args if isinstance(a, BaseException)]
    inner += [e for e in (exc.__cause__, exc.__context__) if e is not None]
    for found in inner[:4]:
        yield from _causes(found, depth + 1)


def _kind(exc: Exception) -> str:
    causes = list(_causes(exc))
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls-error"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect-timeout"
    if any(isinstance(e, TimeoutError | requests.exceptions.Timeout) for e in causes):
        return "timeout"
    if any(isinstance(e, ConnectionRefusedError) for e in causes):
        return "connection-refused"
    # http.client's RemoteDisconnected is both a reset and a bad status line: a reset.
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in causes):
        return "connection-reset"
    if "refused" in str(exc).lower():
        return "connection-refused"
    return "protocol-error"


def _failure(exc: Exception) -> FetchFailed:
    # The message may quote what the target sent: one bounded, cleaned line.
    return FetchFailed(_kind(exc), clean(f"{type(exc).__name__}: {exc}", 160))


_NETWORK_ERRORS = (
    requests.RequestException,
    http.client.HTTPException,
    urllib3.exceptions.HTTPError,
    OSError,
)


# --- sessions whose connections a watchdog holds to the deadline -----------------------


class _Watched(HTTPConnection):
    """A connection the session's watchdog watches once connected (the TLS
    handshake, if any, done: CPython bounds a handshake by one timeout)."""

    watchdog: Watchdog  # set by the session's own subclass (`_pool_classes`)
    _token = 0

    def connect(self) -> None:
        super().connect()
        if self.sock is not None:
            self._token = self.watchdog.watch(self.sock)

    def close(self) -> None:
        self.watchdog.forget(self._token)
        self._token = 0
        super().close()


class _WatchedTls(_Watched, HTTPSConnection):
    pass


def _pool_classes(dog: Watchdog) -> dict[str, type[HTTPConnectionPool]]:
    class Plain(_Watched):
        watchdog = dog

    class Tls(_WatchedTls):
        watchdog = dog

    class PlainPool(HTTPConnectionPool):
        ConnectionCls = Plain

    class TlsPool(HTTPSConnectionPool):
        ConnectionCls = Tls

    return {"http": PlainPool, "https": TlsPool}


def watched_session(watchdog: Watchdog) -> requests.Session:
    """A session without retries, proxies or `~/.netrc` from the environment,
    whose every connection `watchdog` shuts down at its deadline."""
    adapter = HTTPAdapter(max_retries=0)
    # urllib3 makes its pools from this map: ours make watched connections.
    adapter.poolmanager.pool_classes_by_scheme = _pool_classes(watchdog)
    session = requests.Session()
    session.trust_env = False  # no proxy or netrc from the environment
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Client:
    """One service's requests, counted and timed; a fresh session each service."""

    def __init__(self, base: str, context: ProbeContext) -> None:
        self.base = base
        self.timeout = context.timeout
        self.used = 0
        self.deadline = time.monotonic() + context.time_budget
        self.watchdog = Watchdog(Deadline(self.deadline)).start()
        session = watched_session(self.watchdog)
        session.verify = False
        # Every request stands alone: cookies a target sets are not sent back.
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        session.headers.update(
            {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Accept": "*/*"}
        )
        self.session = session

    def close(self) -> None:
        self.session.close()
        self.watchdog.stop()

    def _spend(self) -> None:
        if self.used >= MAX_REQUESTS:
            raise BudgetSpent(f"stopped after {MAX_REQUESTS} requests")
        if time.monotonic() >= self.deadline:
            raise BudgetSpent(STOPPED)
        self.used += 1

    def get(self, url: str, limit: int = MAX_BODY, headers: dict[str, str] | None = None) -> Page:
        self._spend()
        try:
            response = self.session.get(
                url, headers=headers, timeout=self.timeout, allow_redirects=False, stream=True
            )
        except _NETWORK_ERRORS as exc:
            raise self._stopped_or(exc) from None
        try:
            body, truncated = self._read(response, limit)
            return Page(
                url, response.status_code, _headers(response), _cookies(response), body, truncated
            )
        except _NETWORK_ERRORS as exc:
            raise self._stopped_or(exc) from None
        finally:
            response.close()

    def _stopped_or(self, exc: Exception) -> Exception:
        # The watchdog's shutdown looks like a reset to requests: say what it was.
        return BudgetSpent(STOPPED) if self.watchdog.fired else _failure(exc)

    def _read(self, response: requests.Response, limit: int) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        cut = False
        try:
            # One byte past the limit tells a cut body from one that fits exactly.
            for chunk in response.iter_content(16 * 1024):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
                if time.monotonic() >= self.deadline:
                    cut = True  # a server that trickles bytes: keep what came
                    break
        except _NETWORK_ERRORS:
            if not self.watchdog.fired:
                raise
            cut = True  # the watchdog ended a trickle: keep what came
        body = b"".join(chunks)
        return body[:limit], size > limit or cut

    def own(self, url: str) -> bool:
        """`url` is on this service: its scheme, host and port."""
        return url_parts(url) == url_parts(self.base)

    def follow(self, url: str) -> Chain:
        """GET `url`, following the redirects we may follow."""
        hops = [self.get(url)]
        while hops[-1].location:
            target = hops[-1].location
            if not may_follow(hops[-1].url, target):
                return Chain(tuple(hops), "other-host")
            if len(hops) > MAX_REDIRECTS:
                return Chain(tuple(hops), "too-many")
            try:
                hops.append(self.get(target))
            except FetchFailed:
                return Chain(tuple(hops), "unreachable")
        return Chain(tuple(hops))


def _headers(response: requests.Response) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name.lower(), clean(value, 2000 if name.lower() == "location" else HEADER_CHARS))
        for name, value in islice(response.headers.items(), 200)
        if name.lower() in _KEPT_HEADERS
    )


def _cookies(response: requests.Response) -> tuple[Cookie, ...]:
    raw_headers = getattr(response.raw, "headers", None)
    getlist = getattr(raw_headers, "getlist", None)
    values: list[str] = list(getlist("Set-Cookie")) if callable(getlist) else []
    parsed = (parse_cookie(str(value)) for value in values[:50])
    return tuple(cookie for cookie in parsed if cookie is not None)
