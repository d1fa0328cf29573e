"""The one reader of JSON a user gives (scan results, feeds, and whatever JSON
input comes next): hostile input is refused as an `InputError` naming the
file and line, never a RecursionError, an OverflowError, a ValueError or a
value that cannot be written back out.

`json.loads` alone takes NaN and Infinity (and writes them back, which is not
JSON), turns 1e400 into inf, refuses integers over 4,300 digits with a
ValueError, recurses once per nesting level until RecursionError, and keeps
lone surrogate escapes ("\\ud800") that no UTF-8 writer can encode. Here
numbers must fit 64 bits (integers) or be finite (the rest), nesting is
bounded, and strings are text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.support.errors import InputError
from scanner.support.files import FileReadError, read_text

MAX_JSON_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class JsonLimits:
    """What one document may ask of the reader; past any bound it is refused."""

    # Arrays and objects inside each other. trustscan's own results nest 7
    # deep and feeds about 10; code walking the data recursively must never
    # come near Python's recursion limit (repr alone does).
    max_depth: int = 64
    # Integers are counts, ports and ids: signed 64 bits.
    int_bits: int = 63
    # A float literal longer than this is no measurement.
    max_number_chars: int = 100


DEFAULT_LIMITS = JsonLimits()


class JsonFileError(InputError):
    """JSON that cannot be read or is refused; `line` is 1-based, 0 for the whole file."""

    def __init__(self, origin: str, line: int, problem: str) -> None:
        self.origin, self.line, self.problem = origin, line, problem
        super().__init__(f"{origin}:{line}: {problem}" if line else f"{origin}: {problem}")


class _Refused(Exception):
    """Raised by a parse hook; the hook does not know where it is."""

    def __init__(self, problem: str, is_culprit: Callable[[str], bool]) -> None:
        super().__init__(problem)
        self.problem, self.is_culprit = problem, is_culprit


def load_json(
    source: str | Path,
    origin: str | Path | None = None,
    *,
    what: str = "JSON file",
    max_bytes: int = MAX_JSON_BYTES,
    limits: JsonLimits = DEFAULT_LIMITS,
) -> Any:
    """The data of a JSON document: `source` is the file (read as UTF-8, at
    most `max_bytes`) or, as a `str`, the text itself. `origin` names it in
    messages (default: the path); `what` names the file in read errors
    ("cannot read scan result: ...")."""
    if isinstance(source, Path):
        where = str(origin if origin is not None else source)
        try:
            text = read_text(source, max_bytes, what)
        except FileReadError as exc:
            raise JsonFileError(where, exc.line if exc.line > 1 else 0, exc.problem) from None
    else:
        where = str(origin if origin is not None else "<json>")
        text = source
    return parse_json(text, where, limits=limits)


def parse_json(text: str, origin: str, *, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """`load_json` for text already in hand."""
    body = text[1:] if text.startswith("\ufeff") else text  # an editor's byte-order mark
    # Only text decoded leniently holds surrogates; a UTF-8 file never does.
    if raw := _SURROGATE.search(body):
        raise JsonFileError(
            origin, _line_at(body, raw.start()), "the text holds a lone surrogate, not UTF-8 text"
        )
    hooks = _Hooks(limits)
    try:
        data = json.loads(
            body,
            parse_int=hooks.integer,
            parse_float=hooks.number,
            parse_constant=hooks.constant,
        )
    except json.JSONDecodeError as exc:
        raise JsonFileError(
            origin, exc.lineno, f"not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    except _Refused as refused:
        line = _line_of_token(body, refused.is_culprit)
        raise JsonFileError(origin, line, refused.problem) from None
    except RecursionError:
        line = _line_too_deep(body, limits.max_depth)
        raise JsonFileError(origin, line, _deep(limits)) from None
    if _deeper_than(data, limits.max_depth):
        raise JsonFileError(origin, _line_too_deep(body, limits.max_depth), _deep(limits))
    # json.loads joins escaped pairs (an emoji) but keeps a lone half.
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(data):
        line = _line_of_token(body, _is_lone_surrogate_string)
        raise JsonFileError(
            origin, line, "a string holds a lone surrogate escape (\\udXXX), which is not text"
        )
    return data


def _deep(limits: JsonLimits) -> str:
    return f"arrays and objects nested more than {limits.max_depth} deep"


class _Hooks:
    """json.loads' number and constant hooks, with the limits."""

    def __init__(self, limits: JsonLimits) -> None:
        self.limits = limits
        self.bound = 1 << limits.int_bits

    def integer(self, literal: str) -> int:
        # Counted before int(): int() refuses 4,300 digits and is slow long before.
        digits = len(literal) - literal.startswith("-")
        if digits <= 20:
            value = int(literal)
            if -self.bound <= value < self.bound:
                return value
        raise _Refused(
            f"the integer {_shown(literal)} is out of range "
            f"(at most {self.limits.int_bits + 1} bits)",
            lambda token: token == literal,
        )

    def number(self, literal: str) -> float:
        if len(literal) <= self.limits.max_number_chars:
            value = float(literal)
            if math.isfinite(value):
                return value
        raise _Refused(
            f"the number {_shown(literal)} is out of range (too large for a float)",
            lambda token: token == literal,
        )

    def constant(self, name: str) -> Any:
        raise _Refused(
            f"{name} is not a JSON number (JSON has no NaN or Infinity)",
            lambda token: token == name,
        )


def _shown(literal: str, limit: int = 24) -> str:
    if len(literal) <= limit:
        return literal
    return f"{literal[: limit // 2]}...{literal[-4:]} ({len(literal)} characters)"


# --- Where a refused token is. Called only once the text up to that token
# parsed, so every string before it is closed and the scan is linear.

_TOKEN = re.compile(
    r'"(?:[^"\\]++|\\.)*+"'  # a string
    r"|[\[\]{}]"  # nesting
    r"|-?(?:Infinity|[0-9][0-9.eE+-]*+)|NaN"  # a number or constant
)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _tokens(text: str) -> Iterator[re.Match[str]]:
    return _TOKEN.finditer(text)


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _line_of_token(text: str, is_culprit: Callable[[str], bool]) -> int:
    for token in _tokens(text):
        if is_culprit(token.group()):
            return _line_at(text, token.start())
    return 1


def _line_too_deep(text: str, max_depth: int) -> int:
    depth = 0
    for token in _tokens(text):
        value = token.group()
        if value in ("[", "{"):
            depth += 1
            if depth > max_depth:
                return _line_at(text, token.start())
        elif value in ("]", "}"):
            depth -= 1
    return 1


def _deeper_than(data: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than `max_depth`, level by level
    (no recursion: the point is that the data may be deep)."""
    level = [data]
    depth = 0
    while level:
        containers = [item for item in level if type(item) is dict or type(item) is list]
        if not containers:
            return False
        depth += 1
        if depth > max_depth:
            return True
        level = []
        for container in containers:
            level += container.values() if type(container) is dict else container
    return False


def _has_lone_surrogate(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if type(item) is str:
            if _SURROGATE.search(item):
                return True
        elif type(item) is dict:
            stack += item.keys()
            stack += item.values()
        elif type(item) is list:
            stack += item
    return False


def _is_lone_surrogate_string(token: str) -> bool:
    if token[0] != '"' or not _SURROGATE_ESCAPE.search(token):
        return False
    return bool(_SURROGATE.search(json.loads(token)))
