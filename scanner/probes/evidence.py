"""What a target said, made fit for a report: one printable, bounded line;
and no password we tried left in anything a report holds.

Everything a target sends is hostile: terminal escapes, bidi overrides, line
breaks and endless text are dropped or cut here before any of it becomes
evidence. Three flavours, one way of doing it:

- `clean`: a socket's raw bytes (Redis, Memcached), controls and format
  characters as spaces, 80 characters by default;
- `printable`: a driver's or a server's words (MongoDB, Elasticsearch),
  unprintable characters as `?`, 200 by default;
- `server_message`: a SQL server's error (PostgreSQL, MySQL), unprintable
  characters as spaces, cut at 200 without an ellipsis.

And how names and URLs are quoted: a URL's path without its query (which may
carry tokens), a bounded list of names (cookies, form fields, keys), never a
value.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

EVIDENCE_CHARS = 80  # characters of a target's reply quoted in evidence
SAID_CHARS = 200  # characters of a server's or a driver's message
HEADER_CHARS = 200  # a header's value, a page's generator or title
NAME_CHARS = 64  # a cookie, field or key name
LIST_ITEMS = 12  # names listed in one piece of evidence


def _control(char: str) -> bool:
    # Controls, format characters (bidi overrides), line and paragraph separators.
    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp")


def _unprintable(char: str) -> bool:
    return not char.isprintable() and not char.isspace()


def _one_line(text: str, unwanted: Callable[[str], bool], mark: str) -> str:
    """`text` with each unwanted character as `mark` and whitespace runs as one space."""
    return " ".join("".join(mark if unwanted(c) else c for c in text).split())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean(data: bytes | str, limit: int = EVIDENCE_CHARS) -> str:
    """A target's bytes made fit for evidence: decoded, control and format
    characters (terminal escapes, bidi overrides) dropped, whitespace
    collapsed, cut to `limit` characters."""
    text = data[: limit * 4].decode("utf-8", "replace") if isinstance(data, bytes) else data
    return _cut(_one_line(text[: limit * 4], _control, " "), limit)


def printable(text: str, limit: int = SAID_CHARS) -> str:
    """A target's words as one bounded, printable line."""
    return _cut(_one_line(text, _unprintable, "?"), limit)


def server_message(text: str, limit: int = SAID_CHARS) -> str:
    """A server's error message as one printable line of at most `limit` characters."""
    return _one_line(text, _unprintable, " ")[:limit]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every one of `secrets` blanked out as `***`."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def path_of(url: str) -> str:
    """The path of `url` without its query (which may carry tokens), for evidence."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return "?"
    return clean(path or "/", 80)


def list_names(names: Iterable[str]) -> str:
    unique = list(dict.fromkeys(clean(name, NAME_CHARS) for name in names))
    shown = ", ".join(unique[:LIST_ITEMS])
    return shown + (f", +{len(unique) - LIST_ITEMS} more" if len(unique) > LIST_ITEMS else "")
