"""Key-value stores (Redis, Memcached): keys grouped into patterns, each
pattern's record count, and the fields its names and values show.

`customer:17` and `customer:18` are one pattern, `customer:*`: the parts of a
key that vary per record (numbers, long hex or mixed tokens, UUIDs, e-mail
addresses) become `*`, so a pattern is a container the way a table is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.probes import personal_data
from scanner.probes.clients.wire import Broken
from scanner.probes.datastores.report import Container
from scanner.probes.evidence import clean
from scanner.probes.personal_data import FieldReport

VALUE_BYTES = 1024  # bytes of one value handed to the detectors
JSON_BYTES = 8192  # a string this small is read whole, to see if it is a JSON object
MAX_FIELDS = 64  # field names kept per key pattern

# Parts of a key that vary per record: numbers, long hex or mixed tokens,
# UUIDs, e-mail addresses (which would also put personal data in a pattern).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[^\s:/@]+@[^\s:/@]+")
_SEPARATORS = re.compile(r"([:_\-.])")
_HEX = re.compile(r"[0-9a-fA-F]+")
_TOKEN = re.compile(r"[0-9A-Za-z+/=]+")
_PATTERN_CHARS = 120


def _variable(segment: str) -> bool:
    if not segment.isascii():
        return False
    if segment.isdigit():
        return True
    has_digit = any(c.isdigit() for c in segment)
    if len(segment) >= 8 and has_digit and _HEX.fullmatch(segment):
        return True
    # Session tokens and base64 ids: long, letters and digits mixed.
    return (
        len(segment) >= 16
        and has_digit
        and any(c.isalpha() for c in segment)
        and _TOKEN.fullmatch(segment) is not None
    )


def key_pattern(key: bytes | str) -> str:
    """`customer:17` -> `customer:*`: the variable segments between `:`, `_`,
    `-` and `.` replaced by `*`."""
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
    text = _EMAIL.sub("*", _UUID.sub("*", text[:1024]))
    parts = _SEPARATORS.split(text)
    # split() with a group alternates segments (even) and separators (odd).
    joined = "".join("*" if i % 2 == 0 and _variable(p) else p for i, p in enumerate(parts))
    return clean(joined, _PATTERN_CHARS)


def field_of(pattern: str) -> str:
    """The field a string key pattern names: its last fixed segment
    (`user:*:email` -> `email`), or the pattern itself."""
    for segment in reversed(_SEPARATORS.split(pattern)[::2]):
        if segment and "*" not in segment:
            return segment
    return pattern


@dataclass
class KeyTally:
    """Keys seen, grouped by pattern: a count each and the first few raw keys."""

    keep: int
    counts: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[bytes]] = field(default_factory=dict)
    visited: int = 0
    complete: bool = False  # every key was visited

    def add(self, key: bytes) -> None:
        self.visited += 1
        pattern = key_pattern(key)
        self.counts[pattern] = self.counts.get(pattern, 0) + 1
        kept = self.samples.setdefault(pattern, [])
        if len(kept) < self.keep:
            kept.append(key)

    def largest(self, limit: int) -> list[str]:
        """Patterns by how many keys they matched, most first."""
        return sorted(self.counts, key=lambda p: (-self.counts[p], p))[:limit]

    def shortfall(self, total: int | None, what: str) -> str:
        """`350 of 1,000 keys (...); key-pattern record counts are estimated
        from them`: how much of the keyspace a partial visit saw."""
        of = f" of {total:,}" if total is not None else ""
        return f"{self.visited:,}{of} {what}; " + (
            "key-pattern record counts are estimated from them" if of else "counts are partial"
        )


def estimate(seen: int, visited: int, total: int | None) -> int:
    """A pattern's records: the keys seen, scaled up when only part of the
    keyspace was visited."""
    if total is None or visited <= 0 or visited >= total:
        return seen
    return round(seen * total / visited)


def _scalar_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:VALUE_BYTES]
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))[:VALUE_BYTES]


def json_object(text: str) -> dict[str, Any] | None:
    """The value as a JSON object, if it is one (small values only)."""
    if len(text) > JSON_BYTES or not text.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def summarise_values(
    pattern: str, values: Sequence[str] | None, names: Sequence[str] = ()
) -> tuple[FieldReport, ...]:
    """Field reports for a key pattern. `names` are field names read from
    the store (hash fields); without them, values that are JSON objects give
    their top-level keys as fields, and the rest belong to the field the
    pattern names. `values` is None without --inspect-data."""
    if names:
        return tuple(personal_data.summarise_field(n, pattern, ()) for n in names[:MAX_FIELDS])
    plain: list[str] = []
    by_key: dict[str, list[str]] = {}
    for value in values or ():
        parsed = json_object(value)
        if parsed is None:
            plain.append(value[:VALUE_BYTES])
            continue
        for key, item in list(parsed.items())[:MAX_FIELDS]:
            text = _scalar_text(item)
            samples = by_key.setdefault(clean(str(key), 60), [])
            if text is not None:
                samples.append(text)
    reports = [
        personal_data.summarise_field(name, pattern, samples)
        for name, samples in list(by_key.items())[:MAX_FIELDS]
    ]
    if plain or not reports:
        reports.insert(0, personal_data.summarise_field(field_of(pattern), pattern, plain))
    return tuple(reports)


def read_session(
    read: Callable[[], list[Container]], close: Callable[[], None], gaps: list[str]
) -> list[Container]:
    """What `read()` found, the session closed after it; a session that broke
    on the way is a gap, and nothing found."""
    try:
        return read()
    except Broken as exc:
        gaps.append(f"the session ended: {exc.reason}")
        return []
    finally:
        close()
