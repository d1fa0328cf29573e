"""How the web probe quotes what it saw: a URL's path without its query (which
may carry tokens), a bounded list of names (cookies, form fields, keys),
never a value."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from scanner.probes.evidence import clean

HEADER_CHARS = 200  # a header's value, a page's generator or title
NAME_CHARS = 64  # a cookie, field or key name
LIST_ITEMS = 12  # names listed in one piece of evidence


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
