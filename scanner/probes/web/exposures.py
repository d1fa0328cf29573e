"""What a web server exposes that it should not: status and info pages, a git
HEAD, a `.env` file (its key names only, never a value), phpinfo(), a backup
directory or a listing, and the dump files a listing links to. A server that
answers 200 for any path (a soft 404) is told apart by `NotFound`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from scanner.probes.clients.http import Page, url_parts
from scanner.probes.evidence import clean, list_names
from scanner.probes.web.forms import parse_html

MAX_DUMPS = 3

_DUMP_SUFFIXES = (".sql", ".csv", ".bak")
_ENV_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]{0,63})=")


def _server_status(text: str) -> str:
    if "Apache Server Status for" in text:
        return 'Apache mod_status page ("Apache Server Status for")'
    if re.match(r"\s*Active connections:\s*\d+", text):
        return 'nginx stub_status ("Active connections:")'
    return ""


def _server_info(text: str) -> str:
    return (
        'Apache mod_info page ("Apache Server Information")'
        if "Apache Server Information" in text
        else ""
    )


def _git_head(text: str) -> str:
    head = text.strip()
    if head.startswith("ref: refs/"):
        return f'a git HEAD ("{clean(head, 60)}")'
    if re.fullmatch(r"[0-9a-f]{40}", head):
        return "a git HEAD (a detached commit id)"
    return ""


def env_keys(text: str) -> tuple[str, ...]:
    """The key names of a dotenv file, if `text` is one; never a value."""
    lines = [line.strip() for line in text.splitlines()[:2000]]
    meaningful = [line for line in lines if line and not line.startswith("#")]
    keys = [m.group(1) for m in (_ENV_LINE.match(line) for line in meaningful) if m]
    # Most lines KEY=VALUE: an HTML page that mentions one is not a .env file.
    if not keys or len(keys) * 2 < len(meaningful) or "<" in text[:200].lstrip()[:1]:
        return ()
    return tuple(dict.fromkeys(keys))


def _env(text: str) -> str:
    keys = env_keys(text)
    return f"{len(keys)} KEY=VALUE settings, keys: {list_names(keys)}" if keys else ""


def _phpinfo(text: str) -> str:
    if "phpinfo()" in text or "<title>PHP" in text:
        return "the output of phpinfo()"
    return ""


def is_listing(text: str) -> bool:
    return "<title>Index of /" in text[:4096]


@dataclass(frozen=True)
class Exposure:
    path: str
    kind: str
    proof: str


_CHECKS = (
    ("/server-status", "server-status", _server_status),
    ("/server-info", "server-info", _server_info),
    ("/.git/HEAD", "git", _git_head),
    ("/.env", "env", _env),
    ("/phpinfo.php", "phpinfo", _phpinfo),
)
BACKUP_PATH = "/backup/"
EXPOSURE_PATHS = (*(path for path, _, _ in _CHECKS), BACKUP_PATH)


@dataclass(frozen=True)
class NotFound:
    """What the server answers for a path that cannot exist (the soft-404 check)."""

    path: str
    status: int
    length: int

    def looks_like(self, page: Page, path: str) -> bool:
        """A 200 that is the server's not-found page in disguise."""
        if self.status != 200 or page.status != 200:
            return False
        # A page that echoes the path it was asked for differs by that much.
        slack = 16 + abs(len(path) - len(self.path)) * 2
        return abs(len(page.body) - self.length) <= slack


def exposure_of(path: str, page: Page, not_found: NotFound) -> Exposure | None:
    if page.status != 200 or not_found.looks_like(page, path):
        return None
    text = page.text
    if path == BACKUP_PATH:
        if is_listing(text):
            return Exposure(path, "directory-listing", 'answers 200 with "Index of /" (a listing)')
        return Exposure(path, "backup-dir", "answers 200 (not the server's not-found page)")
    for check_path, kind, check in _CHECKS:
        if check_path == path:
            proof = check(text)
            return Exposure(path, kind, proof) if proof else None
    return None


def dump_links(page: Page, base: str) -> list[str]:
    """Links of a listing to uncompressed dump files on the service itself."""
    found = []
    for href in parse_html(page.text).links:
        try:
            url = urljoin(page.url, href)
        except ValueError:
            continue
        url = url.split("#", 1)[0]
        if url_parts(url) != url_parts(base) or "?" in url:
            continue  # another server, or a listing's sort link
        if urlsplit(url).path.lower().endswith(_DUMP_SUFFIXES) and url not in found:
            found.append(url)
    return found[:MAX_DUMPS]
