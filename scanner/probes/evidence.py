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
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import replace

from scanner.probes.store_report import StoreReport

EVIDENCE_CHARS = 80  # characters of a target's reply quoted in evidence
SAID_CHARS = 200  # characters of a server's or a driver's message


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


def scrub_report(report: StoreReport, secrets: Iterable[str], shortest: int = 1) -> StoreReport:
    """The report with every password we tried blanked out, wherever a hostile
    server may have echoed it (an error message, a key or an index name).
    Passwords shorter than `shortest` are left alone: masking every `a`
    would mangle the evidence."""
    kept = [s for s in secrets if s and len(s) >= shortest]
    if not kept:
        return report

    def hide(text: str) -> str:
        return scrub(text, kept)

    containers = tuple(
        replace(
            c,
            name=hide(c.name),
            fields=tuple(
                replace(f, name=hide(f.name), masked_examples=tuple(map(hide, f.masked_examples)))
                for f in c.fields
            ),
        )
        for c in report.containers
    )
    return replace(
        report,
        auth_evidence=hide(report.auth_evidence),
        tls_evidence=hide(report.tls_evidence),
        identity=hide(report.identity),
        containers=containers,
        gaps=tuple(map(hide, report.gaps)),
    )
