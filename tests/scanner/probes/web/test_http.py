"""The HTTP probe against in-process fakes: what it reads from pages,
headers and dumps, and the bounds it keeps whatever the server does.

`FakeWeb` serves a fixed map of paths (anything else is a 404, unless a
catch-all is given) over HTTP or, with a certificate from the test PKI,
HTTPS, and counts the requests it gets.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fixtures import certs
from scanner.model import Host, Observation, Service
from scanner.probes.clients.http import MAX_REQUESTS, parse_cookie
from scanner.probes.context import ProbeContext
from scanner.probes.runner import run_probes
from scanner.probes.web.dumps import MAX_DUMP, read_sql
from scanner.probes.web.exposures import env_keys
from scanner.probes.web.http import applies, probe, scheme_of
from tests.scanner.probes.peers import closed_port, drip, fake, send_garbage, silent

ADDRESS = "127.0.51.30"
OTHER_ADDRESS = "127.0.51.31"
CONTEXT = ProbeContext(timeout=2.0, inspect_data=True)
# The probe ignores this warning for the process; pytest resets filters per test.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: tuple[tuple[str, str], ...] = ()


Catchall = Callable[[str], Reply]


@dataclass
class FakeWeb:
    routes: dict[str, Reply]
    catchall: Catchall | None = None
    requests: list[str] = field(default_factory=list)
    address: str = ""
    port: int = 0

    def reply(self, path: str) -> Reply:
        self.requests.append(path)
        if path in self.routes:
            return self.routes[path]
        return self.catchall(path) if self.catchall else Reply(404, "<h1>Not Found</h1>")


def _handler(web: FakeWeb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_header = ""

        def do_GET(self) -> None:
            reply = web.reply(self.path)
            body = reply.body.encode() if isinstance(reply.body, str) else reply.body
            # send_response() adds Server: from version_string(): the reply's, or none.
            self.server_header = dict(reply.headers).get("Server", "")
            self.send_response(reply.status)
            for name, value in reply.headers:
                if name != "Server":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(OSError):  # the probe hangs up on a long body: on purpose
                self.wfile.write(body)

        def version_string(self) -> str:
            return self.server_header

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serving(
    routes: dict[str, Reply],
    catchall: Catchall | None = None,
    address: str = ADDRESS,
    tls: ssl.SSLContext | None = None,
) -> Iterator[FakeWeb]:
    web = FakeWeb(routes, catchall)
    server = ThreadingHTTPServer((address, 0), _handler(web))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    web.address, web.port = address, server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield web
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    directory = tmp_path_factory.mktemp("pki")
    leaf = certs.valid(directory, certs.make_ca(directory), ADDRESS)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(leaf.cert, leaf.key)
    return context


def run(web: FakeWeb, tunnel: str = "", context: ProbeContext = CONTEXT) -> list[Observation]:
    service = Service(web.port, "tcp", "open", name="http", tunnel=tunnel)
    return list(probe(Host(web.address), service, context))


def facts(found: list[Observation]) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for o in found:
        table.setdefault(o.key, []).append(o.value)
    return table


def evidence(found: list[Observation], key: str) -> str:
    return " | ".join(o.evidence for o in found if o.key == key)


def everything(found: list[Observation]) -> str:
    return "\n".join(f"{o.key} {o.value} {o.evidence}" for o in found)


# --- which services, which scheme ----------------------------------------------------


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (Service(80, "tcp", "open", name="http"), True),
        (Service(8080, "tcp", "open", name="http-proxy"), True),
        (Service(443, "tcp", "open", name="https"), True),
        (Service(8443, "tcp", "open", name="https-alt"), True),
        (Service(443, "tcp", "open", name="ssl/http", tunnel="ssl"), True),
        (Service(80, "tcp", "closed", name="http"), False),
        (Service(80, "udp", "open", name="http"), False),
        (Service(22, "tcp", "open", name="ssh"), False),
    ],
)
def test_applies(service: Service, expected: bool) -> None:
    assert applies(service) is expected


def test_scheme() -> None:
    assert scheme_of(Service(443, "tcp", "open", name="http", tunnel="ssl")) == "https"
    assert scheme_of(Service(8443, "tcp", "open", name="https-alt")) == "https"
    assert scheme_of(Service(80, "tcp", "open", name="http")) == "http"


# --- plaintext: forms, cookies, the https redirect --------------------------------

LOGIN_PAGE = """<html><head><title>Sign in</title></head><body>
<form action="/session?token=q1w2e3" method="POST">
<input type="hidden" name="csrf" value="hidden-token-value">
<input type="text" name="username" value="prefilled-user">
<input type="password" name="password">
<input type="email" name="email" value="someone@example.com">
<input name="card_number" autocomplete="cc-number">
<input type="submit" value="Go">
</form>
<form action="/search"><input name="q"></form>
</body></html>"""


def test_plaintext_login_form_and_session_cookie() -> None:
    routes = {
        "/": Reply(
            body='<a href="/signin.html">Sign in</a> <meta name="generator" content="Hugo 0.1">',
            headers=(("Server", "Apache/2.4.62 (Debian)"), ("X-Powered-By", "PHP/8.2.7")),
        ),
        "/signin.html": Reply(
            body=LOGIN_PAGE,
            headers=(("Set-Cookie", "PHPSESSID=sessionvalue123; path=/"),),
        ),
    }
    with serving(routes) as web:
        found = run(web)
    table = facts(found)
    assert table["http.sensitive_form"] == ["password, email, card"]
    shown = evidence(found, "http.sensitive_form")
    assert "action=/session method=post fields: username, password, email, card_number" in shown
    assert table["http.session_cookie"] == ["PHPSESSID"]
    assert table["http.redirects_to_https"] == ["no"]
    assert table["http.server_header"] == ["Apache/2.4.62 (Debian)"]
    assert table["http.powered_by"] == ["PHP/8.2.7"]
    assert table["http.generator"] == ["Hugo 0.1"]
    assert table["http.tokens"] == ["Server, X-Powered-By, meta generator"]
    assert "http.hsts" not in table
    text = everything(found)
    for secret in ("sessionvalue123", "prefilled-user", "someone@example.com", "q1w2e3"):
        assert secret not in text
    assert "hidden-token-value" not in text


def test_https_upgrade_is_followed_on_the_same_host_only() -> None:
    routes = {"/": Reply(301, headers=(("Location", f"https://{ADDRESS}/"),))}
    with serving(routes) as web:
        found = run(web)
    table = facts(found)
    assert table["http.redirects_to_https"] == ["yes"]
    # The https side refuses (nothing listens on 443 here): that ends GET /, nothing raised.
    assert "http.sensitive_form" not in table


def test_redirect_to_another_host_is_not_followed() -> None:
    with serving({"/": Reply(200, "elsewhere")}, address=OTHER_ADDRESS) as other:
        target = f"http://{other.address}:{other.port}/login?next=secret-ticket"
        with serving({"/": Reply(302, headers=(("Location", target),))}) as web:
            found = run(web)
    assert other.requests == []
    table = facts(found)
    assert table["http.redirect"] == ["other-host"]
    assert table["http.redirects_to_https"] == ["no"]
    assert "secret-ticket" not in everything(found)


def test_redirects_stop_after_three() -> None:
    routes = {f"/{n}": Reply(302, headers=(("Location", f"/{n + 1}"),)) for n in range(10)}
    routes["/"] = Reply(302, headers=(("Location", "/0"),))
    with serving(routes) as web:
        found = run(web)
    assert web.requests[:4] == ["/", "/0", "/1", "/2"]
    assert "/3" not in web.requests
    assert facts(found)["http.redirect"] == ["too-many"]


# --- https: HSTS and cookie flags -----------------------------------------------------


def test_https_hsts_missing_and_cookie_flags(tls_context: ssl.SSLContext) -> None:
    routes = {
        "/": Reply(
            body=LOGIN_PAGE,
            headers=(
                ("Set-Cookie", "SESSION=value-not-shown; Path=/"),
                ("Set-Cookie", "PREFS=dark; Secure; HttpOnly"),
                ("Set-Cookie", "GOOD=fine; Secure; HttpOnly; SameSite=Lax"),
            ),
        )
    }
    with serving(routes, tls=tls_context) as web:
        found = run(web, tunnel="ssl")
    table = facts(found)
    assert table["http.hsts"] == ["missing"]
    assert table["http.cookie_flags"] == ["SESSION", "PREFS"]
    shown = evidence(found, "http.cookie_flags")
    assert "SESSION: no Secure; no HttpOnly; no SameSite" in shown
    assert "PREFS: no SameSite" in shown
    # Over https a form is not plaintext, nor a cookie a plaintext cookie.
    assert "http.sensitive_form" not in table
    assert "http.session_cookie" not in table
    assert "value-not-shown" not in everything(found)


def test_https_hsts_present(tls_context: ssl.SSLContext) -> None:
    hsts = "max-age=63072000; includeSubDomains; preload"
    routes = {"/": Reply(body="ok", headers=(("Strict-Transport-Security", hsts),))}
    with serving(routes, tls=tls_context) as web:
        found = run(web, tunnel="ssl")
    assert facts(found)["http.hsts"] == ["present"]
    assert hsts in evidence(found, "http.hsts")


def test_cookie_parsing_keeps_no_value() -> None:
    cookie = parse_cookie("id=a3fWa; Expires=Wed, 21 Oct 2015 07:28:00 GMT; secure; SameSite=None")
    assert cookie is not None
    assert (cookie.name, cookie.secure, cookie.http_only, cookie.same_site) == (
        "id",
        True,
        False,
        True,
    )
    assert "a3fWa" not in repr(cookie)
    assert parse_cookie("=novalue") is None
    assert parse_cookie("bad name=1") is None


# --- exposures ------------------------------------------------------------------------

ENV_FILE = "APP_KEY=base64:c2VjcmV0\nDB_PASSWORD=hunter2-db\n# comment\nexport MAIL_HOST=smtp\n"


def test_exposures_are_found_and_env_values_never_shown() -> None:
    routes = {
        "/": Reply(body="home"),
        "/server-status": Reply(body="Active connections: 2 \nserver accepts handled requests\n"),
        "/server-info": Reply(body="<h1>Apache Server Information</h1>"),
        "/.git/HEAD": Reply(body="ref: refs/heads/main\n"),
        "/.env": Reply(body=ENV_FILE),
        "/phpinfo.php": Reply(body="<title>PHP 8.2.7 - phpinfo()</title>"),
        "/backup/": Reply(body="<html><title>Backups</title></html>"),
    }
    with serving(routes) as web:
        found = run(web)
    kinds = facts(found)["http.exposure"]
    assert sorted(kinds) == ["backup-dir", "env", "git", "phpinfo", "server-info", "server-status"]
    shown = evidence(found, "http.exposure")
    assert "APP_KEY, DB_PASSWORD, MAIL_HOST" in shown
    assert 'nginx stub_status ("Active connections:")' in shown
    for secret in ("c2VjcmV0", "hunter2-db", "smtp"):
        assert secret not in everything(found)


def test_env_keys_refuses_a_page_that_is_not_a_dotenv_file() -> None:
    assert env_keys("<html><body>A=1</body></html>") == ()
    assert env_keys("hello world\nthis is text\nA=1") == ()
    assert env_keys(ENV_FILE) == ("APP_KEY", "DB_PASSWORD", "MAIL_HOST")


def test_soft_404_pages_are_not_exposures() -> None:
    # Every path answers 200 with the same page, naming the path and quoting
    # mod_status's title: without the soft-404 check /server-status and
    # /backup/ would both be "found".
    def everything_found(path: str) -> Reply:
        return Reply(body=f"<html><title>Shop</title><p>Apache Server Status for {path}</p></html>")

    with serving({}, catchall=everything_found) as web:
        found = run(web)
    table = facts(found)
    assert table["http.soft_404"] == ["yes"]
    assert "http.exposure" not in table


# --- dumps ----------------------------------------------------------------------------

CSV_ROWS = [
    f"{n},Jane{n},Doe,jane.doe{n}@example.com,4111 1111 1111 1111,+1-202-555-01{n % 100:02d}"
    for n in range(1, 3001)
]
CSV = "id,first_name,last_name,email,card_number,phone\n" + "\n".join(CSV_ROWS) + "\n"
LISTING = """<html><head><title>Index of /backup</title></head><body>
<a href="?C=N;O=D">Name</a> <a href="/">Parent</a>
<a href="customers.csv">customers.csv</a> <a href="old.sql.gz">old.sql.gz</a>
<a href="http://127.0.51.99/elsewhere.sql">elsewhere.sql</a>
</body></html>"""


def test_dump_is_cut_and_masked() -> None:
    routes = {
        "/": Reply(body="home"),
        "/backup/": Reply(body=LISTING),
        "/backup/customers.csv": Reply(body=CSV, headers=(("Content-Type", "text/csv"),)),
    }
    with serving(routes) as web:
        found = run(web)
    table = facts(found)
    assert "directory-listing" in table["http.exposure"]
    assert table["http.dump"] == ["name, email, card-number, phone"]
    shown = evidence(found, "http.dump")
    assert shown.startswith("/backup/customers.csv: 64 KiB read (cut); name (J***), email (j***@")
    assert "card-number (**** **** **** 1111)" in shown
    records = int(table["http.dump_records"][0])
    assert 0 < records < len(CSV_ROWS)  # only what 64 KiB held, the cut line not counted
    assert len(CSV[:MAX_DUMP].splitlines()) - 2 == records
    text = everything(found)
    assert "jane.doe1@example.com" not in text
    assert "4111 1111 1111 1111" not in text
    # Neither the compressed dump nor the one on another host was fetched.
    assert "/backup/old.sql.gz" not in web.requests


def test_dump_without_inspecting_values_names_categories_only() -> None:
    routes = {"/backup/": Reply(body=LISTING), "/backup/customers.csv": Reply(body=CSV)}
    with serving(routes) as web:
        found = run(web, context=ProbeContext(timeout=2.0))
    assert facts(found)["http.dump"] == ["name, email, card-number, phone"]
    assert "@" not in evidence(found, "http.dump")
    assert "1111" not in evidence(found, "http.dump")


SQL = """-- MySQL dump
CREATE TABLE `users` (
  `id` int(11) NOT NULL,
  `email` varchar(255) DEFAULT NULL,
  `notes` text,
  PRIMARY KEY (`id`),
  KEY `idx` (`email`)
);
INSERT INTO `users` VALUES (1,'o''brien@example.com','a, (tricky) \\'note\\''),(2,NULL,'x');
COPY public.cards (id, card_number) FROM stdin;
1\t4111111111111111
2\t\\N
\\.
"""


def test_sql_dump_parsing() -> None:
    tables = {t.name: t for t in read_sql(SQL, keep=10)}
    users = tables["users"]
    assert users.columns == ("id", "email", "notes")
    assert users.rows == (("1", "o'brien@example.com", "a, (tricky) 'note'"), ("2", None, "x"))
    assert users.records == 2
    cards = tables["cards"]
    assert cards.columns == ("id", "card_number")
    assert cards.rows == (("1", "4111111111111111"), ("2", None))


def test_sql_dump_cut_mid_row_counts_whole_rows_only() -> None:
    text = "INSERT INTO t (email) VALUES ('a@example.com'),('b@exam"
    assert [t.records for t in read_sql(text, keep=10)] == [1]


# --- bounds and hostile servers -----------------------------------------------------


def test_request_budget_is_kept() -> None:
    links = "".join(f'<a href="/login{n}.html">x</a>' for n in range(20))
    dumps = "".join(f'<a href="/backup/d{n}.csv">d</a>' for n in range(20))
    routes = {"/": Reply(body=f"<title>Index of /</title>{links}{dumps}")}
    routes |= {f"/login{n}.html": Reply(302, headers=(("Location", f"/l{n}"),)) for n in range(20)}

    def anything(path: str) -> Reply:
        return Reply(body="a,email\n1,x@example.com\n" if path.endswith(".csv") else "page")

    with serving(routes, catchall=anything) as web:
        found = run(web)
    assert len(web.requests) <= MAX_REQUESTS
    assert len(facts(found).get("http.dump", [])) <= 3


def test_oversized_page_is_cut() -> None:
    # The form past 256 KiB is never read.
    body = "<title>big</title>" + "x" * (2 * 1024 * 1024) + LOGIN_PAGE
    routes = {"/": Reply(body=body), "/signin.html": Reply(body=body)}
    with serving(routes) as web:
        found = run(web)
    assert "http.sensitive_form" not in facts(found)


def test_garbage_is_a_protocol_error() -> None:
    with fake(send_garbage) as peer:
        found = list(
            probe(Host(peer.address), Service(peer.port, "tcp", "open", name="http"), CONTEXT)
        )
    assert [(o.key, o.value) for o in found] == [("http.error", "protocol-error")]
    assert "\x1b" not in found[0].evidence


def test_refused_connection() -> None:
    port = closed_port(ADDRESS)
    found = list(probe(Host(ADDRESS), Service(port, "tcp", "open", name="http"), CONTEXT))
    assert [(o.key, o.value) for o in found] == [("http.error", "connection-refused")]


def test_silent_server_times_out() -> None:
    context = ProbeContext(timeout=0.5)
    with fake(silent) as peer:
        found = list(
            probe(Host(peer.address), Service(peer.port, "tcp", "open", name="http"), context)
        )
    assert [(o.key, o.value) for o in found] == [("http.error", "timeout")]


def test_tls_to_a_plaintext_server_is_a_tls_error() -> None:
    with serving({"/": Reply(body="plain")}) as web:
        found = run(web, tunnel="ssl")
    assert [(o.key, o.value) for o in found] == [("http.error", "tls-error")]


def test_evidence_is_one_clean_line() -> None:
    routes = {"/": Reply(body="ok", headers=(("Server", "evil\x1b[31m\u202eserver " + "A" * 500),))}
    with serving(routes) as web:
        found = run(web)
    for o in found:
        assert "\n" not in o.evidence
        assert "\x1b" not in o.evidence
        assert "\u202e" not in o.evidence
        assert len(o.value) <= 200
        assert len(o.evidence) <= 400


# --- a server dripping its answer: the time budget bounds the whole exchange ---------

DRIP_BUDGET = 3.0
# Each byte comes well inside the per-read timeout: only the budget can stop the probe.
DRIP_CONTEXT = ProbeContext(timeout=5.0, time_budget=DRIP_BUDGET)
DRIPPED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n"


def _dripping(where: str) -> Callable[[socket.socket], None]:
    def serve(conn: socket.socket) -> None:
        conn.recv(4096)  # the request
        if where == "headers":
            drip(conn, DRIPPED_HEAD + b"X-Padding: " + b"a" * 1000 + b"\r\n\r\n")
        else:
            conn.sendall(DRIPPED_HEAD + b"\r\n")
            drip(conn, b"<html>" + b"x" * 100000)

    return serve


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_server_dripping_its_answer_is_cut_off_at_the_time_budget(where: str) -> None:
    with fake(_dripping(where)) as peer:
        service = Service(peer.port, "tcp", "open", name="http")
        started = time.monotonic()
        # As a scan runs it: the probe itself must stop, not the runner's backstop.
        observed, errors = run_probes([Host(peer.address, services=(service,))], DRIP_CONTEXT)
        found = list(observed)
        elapsed = time.monotonic() - started
    assert errors == ()
    assert "stopped at the time budget" in evidence(found, "http.incomplete")
    if where == "body":
        # What came before the budget ran out is kept, as a page cut short.
        assert facts(found)["http.redirects_to_https"] == ["no"]
    assert elapsed < 30  # a generous ceiling: the budget is 3 s, the drip would take minutes
