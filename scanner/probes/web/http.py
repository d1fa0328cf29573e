"""HTTP and HTTPS: what a web server says about itself, what it exposes that
it should not, and whether it asks for personal data over plaintext.

The survey of one service, in this order of priority within its
`MAX_REQUESTS` (see `http_client` for the bounds): GET / (and its
redirects), a random path (the soft-404 check), the fixed list of exposure
paths (`web_exposures`), up to `MAX_LINKED` pages linked from / that look
like log-in pages, up to `MAX_DUMPS` dump files linked from a listing
(`dumps`). Forms (`html_forms`) and cookies are judged on every page read.

Never in an observation: a cookie's value, a value from a `.env` file, a raw
value from a dump (only what `pii.mask` made of it), a query string. Values
in a dump are sampled only with `inspect_data`, like a data store's.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from scanner.model import Host, Observation, Service
from scanner.probes.clients.http import (
    BudgetSpent,
    Chain,
    Client,
    FetchFailed,
    Page,
    may_follow,
    origin,
    url_parts,
)
from scanner.probes.context import ProbeContext, ProbeSpec
from scanner.probes.evidence import clean, list_names, path_of
from scanner.probes.web.dumps import MAX_DUMP, categories_of, dump_evidence, read_dump, summarise
from scanner.probes.web.exposures import (
    EXPOSURE_PATHS,
    MAX_DUMPS,
    NotFound,
    dump_links,
    exposure_of,
    is_listing,
)
from scanner.probes.web.forms import Markup, form_evidence, parse_html, sensitive_kinds

PROBE = "http"
MAX_LINKED = 2

_HTTP_NAMES = frozenset({"http", "https", "http-alt", "http-proxy", "https-alt", "http-mgmt"})
_LOGIN_LINK = re.compile(
    r"log[-_]?[io]n|sign[-_]?(?:in|on|up)|account|register|checkout|auth", re.IGNORECASE
)


# --- where the service is -------------------------------------------------------------


def applies(service: Service) -> bool:
    if service.protocol != "tcp" or service.state != "open":
        return False
    name = service.name.lower()
    return (
        name in _HTTP_NAMES
        or name.startswith("http")
        or (service.tunnel == "ssl" and "http" in name)
    )


def scheme_of(service: Service) -> str:
    return (
        "https" if service.tunnel == "ssl" or service.name.lower().startswith("https") else "http"
    )


# --- the survey -----------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    host: str
    port: int

    def observe(self, key: str, value: str, evidence: str = "") -> Observation:
        return Observation(self.host, self.port, PROBE, key, value, clean(evidence, 400))


class Survey:
    """One service, step by step; each step adds observations."""

    def __init__(self, where: Where, scheme: str, client: Client, context: ProbeContext) -> None:
        self.where = where
        self.scheme = scheme
        self.client = client
        self.context = context
        self.found: list[Observation] = []
        self.pages: list[Page] = []  # GET / and the linked pages, every hop
        self.listings: list[Page] = []

    def add(self, key: str, value: str, evidence: str = "") -> None:
        self.found.append(self.where.observe(key, value, evidence))

    def run(self) -> list[Observation]:
        try:
            front = self.client.follow(self.client.base + "/")
        except FetchFailed as failed:
            self.add("http.error", failed.kind, f"GET /: {failed.detail}")
            return self.found
        except BudgetSpent as spent:
            # A server dripping its answer: GET / did not finish within the budget.
            self.add("http.incomplete", "budget", f"GET /: {spent}; nothing else was checked")
            return self.found
        self.pages.extend(front.hops)
        self._front(front)
        try:
            not_found = self._not_found()
            self._exposures(not_found)
            self._linked(front.final)
            self._dumps()
        except BudgetSpent as spent:
            self.add("http.incomplete", "budget", f"{spent}; the checks after it were skipped")
        self._cookies_and_forms()
        return self.found

    # -- GET / ----------------------------------------------------------------

    def _front(self, front: Chain) -> None:
        first = front.hops[0]
        own = [hop for hop in front.hops if self.client.own(hop.url)]
        markup = parse_html(own[-1].text) if own else Markup((), (), "", "")
        tokens = [
            ("http.server_header", "Server", first.header("server")),
            ("http.powered_by", "X-Powered-By", first.header("x-powered-by")),
            ("http.aspnet_version", "X-AspNet-Version", first.header("x-aspnet-version")),
            ("http.generator", "meta generator", markup.generator),
        ]
        shown = [(key, label, value) for key, label, value in tokens if value]
        for key, label, value in shown:
            self.add(key, value, f"GET / answered with {label}: {value}")
        if shown:
            names = ", ".join(label for _, label, _ in shown)
            self.add("http.tokens", names, "; ".join(f"{label}: {v}" for _, label, v in shown))
        if front.stopped:
            target = front.final.location
            where = url_parts(target)
            shown_target = f"{where[0]}://{where[1]}{path_of(target)}" if where else "?"
            outcome = "which did not answer" if front.stopped == "unreachable" else "not followed"
            self.add(
                "http.redirect", front.stopped, f"GET / redirects to {shown_target}, {outcome}"
            )
        if self.scheme == "http":
            self._upgrade(front)
        else:
            self._hsts(front)
        if own and own[-1].status == 200 and is_listing(own[-1].text):
            self.add("http.exposure", "directory-listing", 'path=/: answers 200 with "Index of /"')
            self.listings.append(own[-1])

    def _upgrade(self, front: Chain) -> None:
        upgraded = next(
            (
                hop
                for hop in front.hops
                if hop.location.startswith("https://") and may_follow(hop.url, hop.location)
            ),
            None,
        )
        if upgraded is not None:
            self.add(
                "http.redirects_to_https",
                "yes",
                f"GET {path_of(upgraded.url)} answered {upgraded.status} to https on the same host",
            )
            return
        final = front.final
        self.add(
            "http.redirects_to_https",
            "no",
            f"GET / ended with {final.status} at {path_of(final.url)} over plain HTTP",
        )

    def _hsts(self, front: Chain) -> None:
        header = next(
            (
                hop.header("strict-transport-security")
                for hop in front.hops
                if hop.header("strict-transport-security")
            ),
            "",
        )
        if header:
            self.add("http.hsts", "present", f"Strict-Transport-Security: {header}")
        else:
            self.add(
                "http.hsts",
                "missing",
                f"GET / answered {front.hops[0].status} without Strict-Transport-Security",
            )

    # -- exposures ------------------------------------------------------------

    def _not_found(self) -> NotFound:
        path = f"/trustscan-{secrets.token_hex(8)}.html"
        try:
            page = self.client.get(self.client.base + path)
        except FetchFailed:
            return NotFound(path, 0, 0)
        return NotFound(path, page.status, len(page.body))

    def _exposures(self, not_found: NotFound) -> None:
        if not_found.status == 200:
            self.add(
                "http.soft_404",
                "yes",
                f"GET {not_found.path} (a random path) answered 200, {not_found.length} bytes",
            )
        for path in EXPOSURE_PATHS:
            try:
                page = self.client.get(self.client.base + path)
            except FetchFailed:
                continue  # one path that fails says nothing about the others
            exposure = exposure_of(path, page, not_found)
            if exposure is None:
                continue
            self.add("http.exposure", exposure.kind, f"path={exposure.path}: {exposure.proof}")
            if exposure.kind == "directory-listing":
                self.listings.append(page)

    # -- linked pages: where log-in forms are -----------------------------------

    def _linked(self, front: Page) -> None:
        seen = {hop.url for hop in self.pages}
        wanted: list[str] = []
        for href in parse_html(front.text).links:
            try:
                url = urljoin(front.url, href).split("#", 1)[0]
            except ValueError:
                continue
            if (
                self.client.own(url)
                and _LOGIN_LINK.search(urlsplit(url).path)
                and url not in seen
                and url not in wanted
            ):
                wanted.append(url)
        for url in wanted[:MAX_LINKED]:
            try:
                self.pages.extend(self.client.follow(url).hops)
            except FetchFailed:
                continue

    # -- dumps ----------------------------------------------------------------

    def _dumps(self) -> None:
        urls = list(
            dict.fromkeys(u for page in self.listings for u in dump_links(page, self.client.base))
        )
        for url in urls[:MAX_DUMPS]:
            try:
                page = self.client.get(url, MAX_DUMP, {"Range": f"bytes=0-{MAX_DUMP - 1}"})
            except FetchFailed:
                continue
            if page.status not in (200, 206):
                continue
            self._dump(path_of(url), page)

    def _dump(self, path: str, page: Page) -> None:
        # A 206 answers the Range we asked for: the file may go on past it.
        truncated = page.truncated or (page.status == 206 and len(page.body) >= MAX_DUMP)
        tables = read_dump(path, page.body, truncated, self.context.sample_size)
        reports = summarise(tables, self.context.inspect_data)
        categories = categories_of(reports)
        self.add(
            "http.dump",
            ", ".join(categories) or "none",
            dump_evidence(path, len(page.body), truncated, reports),
        )
        records = sum(table.records for table in tables)
        self.add(
            "http.dump_records", str(records), f"{path}: {records} data rows in the bytes read"
        )

    # -- cookies and forms, from every page read --------------------------------

    def _cookies_and_forms(self) -> None:
        plain = [page for page in self.pages if page.url.startswith("http://")]
        secure = [page for page in self.pages if page.url.startswith("https://")]
        if self.scheme == "http":
            self._plaintext_cookies(plain)
            self._forms(plain)
        else:
            self._cookie_flags(secure)

    def _plaintext_cookies(self, pages: list[Page]) -> None:
        names = [c.name for page in pages for c in page.cookies]
        if names:
            paths = list_names(path_of(page.url) for page in pages if page.cookies)
            self.add(
                "http.session_cookie",
                list_names(names),
                f"Set-Cookie over plain HTTP on {paths}: {list_names(names)} (names only)",
            )

    def _forms(self, pages: list[Page]) -> None:
        seen: set[str] = set()
        for page in pages:
            if page.status != 200:
                continue
            for form in parse_html(page.text).forms:
                kinds = sensitive_kinds(form)
                action = urljoin(page.url, form.action) if form.action else page.url
                if not kinds or not action.startswith("http://"):
                    continue  # nothing sensitive, or it posts to https
                evidence = f"{path_of(page.url)}: {form_evidence(form, path_of(page.url))}"
                if evidence not in seen:
                    seen.add(evidence)
                    self.add("http.sensitive_form", ", ".join(kinds), evidence)

    def _cookie_flags(self, pages: list[Page]) -> None:
        reported: set[str] = set()
        for page in pages:
            for cookie in page.cookies:
                if cookie.missing and cookie.name not in reported:
                    reported.add(cookie.name)
                    lacking = "; ".join(f"no {flag}" for flag in cookie.missing)
                    self.add(
                        "http.cookie_flags",
                        cookie.name,
                        f"{cookie.name}: {lacking} (set on {path_of(page.url)})",
                    )


def probe(host: Host, service: Service, context: ProbeContext) -> tuple[Observation, ...]:
    scheme = scheme_of(service)
    client = Client(origin(scheme, host.address, service.port), context)
    try:
        return tuple(Survey(Where(host.address, service.port), scheme, client, context).run())
    finally:
        client.close()


SPEC = ProbeSpec(PROBE, applies, probe)
