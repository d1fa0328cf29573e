"""What a target said, made fit for a report: one printable, bounded line;
and no password we tried left in anything a report holds (`Redactor`).

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
value. The probe runner puts everything a probe returns through a `Redactor`
of the passwords it may have sent, so no probe has to remember to.
"""

from __future__ import annotations

import base64
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, urlsplit

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


# --- secrets ---------------------------------------------------------------------

BLANK = "***"
# A secret shorter than this is blanked only where quoted: blanking every bare
# `ab` would wreck the evidence, and a bare word cannot be told from our own.
SHORT_SECRET = 4
# A cut echo (`you sent 'hunter2…`, a message bounded mid-password): this many
# leading characters of a secret, or more, are blanked wherever they appear.
PREFIX_CHARS = 4
_QUOTES = "'\"`"


def _evidence_forms(secret: str) -> set[str]:
    """The secret as `clean`, `printable` and `server_message` would have left it."""
    return {
        secret,
        _one_line(secret, _unprintable, " "),
        _one_line(secret, _unprintable, "?"),
        _one_line(secret, _control, " "),
    }


def _encodings(secret: str) -> set[str]:
    """The ways a server or a driver may quote the secret back: escaped for
    JSON, Python, SQL, HTML or a URL, or encoded as hex or base64."""
    forms = {
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        secret.replace("'", "''"),
        secret.replace('"', '""'),
        secret.replace("\\", "\\\\").replace("'", "\\'"),
        html.escape(secret),
        html.escape(secret).replace("&#x27;", "&#39;"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    for encoding in ("utf-8", "latin-1"):
        try:
            raw = secret.encode(encoding)
        except UnicodeEncodeError:
            continue
        forms.add(raw.hex())  # matched without regard to case: upper-case hex too
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            text = encoded.decode()
            forms |= {text, text.rstrip("=")}
            # Whole 3-byte groups only: what any base64 blob that begins with the secret holds.
            forms.add(text[: len(raw) // 3 * 4])
    return forms


def _alternatives(forms: Iterable[str]) -> str:
    # Longest first: a form that contains another is blanked whole.
    return "|".join(re.escape(f) for f in sorted(set(forms), key=lambda f: (-len(f), f)))


def _blank_prefixes(text: str, secret: str) -> str:
    """`text` with every run of PREFIX_CHARS or more leading characters of `secret` blanked."""
    head = secret[:PREFIX_CHARS]
    pieces: list[str] = []
    start = 0
    while (at := text.find(head, start)) >= 0:
        end = at + len(head)
        while end < len(text) and end - at < len(secret) and text[end] == secret[end - at]:
            end += 1
        pieces += [text[start:at], BLANK]
        start = end
    return "".join(pieces) + text[start:]


@dataclass(frozen=True)
class Redactor:
    """Blanks secrets (the passwords a probe may have sent) out of text, in the
    forms a hostile server may echo them.

    A secret of SHORT_SECRET characters or more is blanked wherever it appears,
    without regard to case: as it is, as the evidence helpers would have
    cleaned it, escaped (JSON, Python, SQL, HTML, URL) or encoded (hex,
    base64), and so are its leading PREFIX_CHARS characters or more, which is
    what is left of an echo cut short. A shorter secret, and a `public` one
    (a vendor default: no secret, but not to be repeated either), only where
    it is quoted ('…', "…", `…`). `exact` strings are blanked as they are
    (a Basic token: the base64 of `user:password`)."""

    whole: re.Pattern[str] | None
    prefixes: tuple[str, ...]
    quoted: re.Pattern[str] | None

    @classmethod
    def of(
        cls, secrets: Iterable[str], public: Iterable[str] = (), exact: Iterable[str] = ()
    ) -> Redactor:
        own = {s for s in secrets if s}
        long = {s for s in own if len(s) >= SHORT_SECRET}
        forms = {form for s in long for form in _evidence_forms(s) | _encodings(s)}
        forms = {f for f in forms | {e for e in exact if e} if len(f) >= SHORT_SECRET}
        prefixes = {p for s in long for p in _evidence_forms(s) if len(p) >= PREFIX_CHARS}
        quoted = (own - long) | {s for s in public if s}
        return cls(
            re.compile(_alternatives(forms), re.IGNORECASE) if forms else None,
            tuple(sorted(prefixes, key=lambda p: (-len(p), p))),
            re.compile(f"([{_QUOTES}])(?:{_alternatives(quoted)})\\1") if quoted else None,
        )

    def __call__(self, text: str) -> str:
        """`text` with every secret blanked: whole, cut short, or quoted."""
        text = self.value(text)
        for prefix in self.prefixes:
            text = _blank_prefixes(text, prefix)
        return text

    def value(self, text: str) -> str:
        """`text` with every whole or quoted secret blanked, but no run of
        leading characters: for a short value such as `none` or `required`,
        which a password that begins with it must not blank."""
        if self.whole is not None:
            text = self.whole.sub(BLANK, text)
        if self.quoted is not None:
            text = self.quoted.sub(f"\\1{BLANK}\\1", text)
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
