"""Hostile YAML for the tests of every loader of user YAML: concrete files a
tester sent, a guard that runs a loader where a hang cannot stall the suite,
and Hypothesis strategies that mix every kind of hostile input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import strategies as st

from tests.properties import PROPERTY as PROPERTY
from tests.support import REPO


def alias_bomb(prefix: str, first: str, width: int = 10, levels: int = 9) -> list[str]:
    """Lines of anchors each aliasing the previous one `width` times: under
    1 KB, `width ** levels` nodes expanded. `prefix` indents each line, `first`
    is the innermost value; each level is `&lN {any: [*lN-1, ...]}`."""
    lines = [f"{prefix}- &l0 {first}"]
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"{prefix}- &l{level} {{any: [{aliases}]}}")
    return lines


def bomb_list(name: str, width: int = 10, levels: int = 9) -> list[str]:
    """Top-level `name:` holding a list-of-lists alias bomb, anchors l0..l{levels-1}."""
    lines = [f"{name}:", "  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"  - &l{level} [{aliases}]")
    return lines


def line_with(text: str, needle: str) -> int:
    """The 1-based line of the first line holding `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


_ISOLATED = """
import json, sys, time
from importlib import import_module
from pathlib import Path
from scanner.support.errors import InputError
module, name, path = sys.argv[1:4]
function = getattr(import_module(module), name)
start = time.perf_counter()
try:
    value = function(Path(path))
except InputError as exc:
    outcome = {"error": str(exc)}
else:
    outcome = {"ok": repr(value)[:2000]}
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], list):
        outcome["problems"] = [str(problem) for problem in value[1]]
outcome["seconds"] = time.perf_counter() - start
print(json.dumps(outcome))
"""


def call_isolated(module: str, function: str, path: Path, timeout: float = 30) -> dict[str, object]:
    """`module.function(path)` in a child Python killed after `timeout`
    seconds, so an unbounded loader fails the test instead of hanging the
    suite: {"error": message} for an InputError, {"ok": repr}, with
    "problems" for a loader that returns them and the "seconds" it took."""
    try:
        run = subprocess.run(
            [sys.executable, "-c", _ISOLATED, module, function, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{module}.{function} still running after {timeout} s") from None
    assert run.returncode == 0, run.stderr[-2000:]
    outcome: dict[str, object] = json.loads(run.stdout)
    return outcome


# --- Hypothesis: pieces of YAML, each kind of hostility a strategy ----------

_WORDS = st.sampled_from(
    [
        "a", "x", "id", "any", "all", "product", "apache-httpd", "store", "password",
        "credentials", "assets", "rules", "system", "<<", "~", "null", "yes", "no", "on",
        "=", "-", "?", ":", "#", "''", '""', "2024-02-29", "2024-13-45",
        "2001-12-14t21:59:43.10+99:99",
        "0x_", "0b_", "0o17", "017", "1:20:30", "190:20:30.15", ".inf", "-.nan", "1.0e+400",
        "1_000", "'quoted'", '"esc\\x07aped"', '"bad\\q"', "|\n  block", ">-\n  folded",
        "bell\x07", "ansi\x1b[2J", "nul\x00", "del\x7f", "c1\x9b", "nel\x85", "bom\ufeff",
    ]
)  # fmt: skip
_NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=1, max_value=300).map(lambda n: "1" + ":59" * n),
    st.floats().map(repr),
)
_TAGS = st.sampled_from(
    [
        "!secret", "!", "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp",
        "!!binary", "!!set", "!!omap", "!!pairs", "!!map", "!!seq", "!!merge", "!!value",
        "!!python/object/apply:os.system", "!<tag:yaml.org,2002:int>", "!%0A", "!e!x",
    ]
)  # fmt: skip
# Text of any script: raw, or quoted with every character escaped as JSON does
# (YAML's punctuation and its control characters come from _WORDS and the splices).
_ODD_TEXT = st.text(st.characters(codec="utf-8", categories=["L", "M", "N", "Zs"]), max_size=12)
_ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_ANCHORS = st.sampled_from(["a", "b", "c", "l0", "l1"])

_LEAF = st.one_of(
    _WORDS,
    _NUMBERS,
    _ANY_TEXT.map(json.dumps),
    _ODD_TEXT,
    _ANCHORS.map(lambda name: f"*{name}"),
)

# What testers sent, so that each example has a fair chance of one.
_NASTY = st.sampled_from(
    [
        "9" * 400, "9" * 5000, "-" + "9" * 20, "0x" + "f" * 40, "2024-13-45", "0b_", "1.0e+400",
        "!secret hunter2", "!!python/object/apply:os.system [id]", "!!binary aGk=", "*undefined",
        "&x [*x]", "[" * 300 + "]" * 300, "{a: 1, a: 2}", "x\x07", "\x1b[2J", "!!int x",
    ]
)  # fmt: skip
_SCALARS = st.one_of(_WORDS, _NUMBERS, _ANY_TEXT.map(json.dumps), _ODD_TEXT, _NASTY)


def _flow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    keys = st.one_of(_WORDS, _ANCHORS.map(lambda name: f"*{name}"), children)
    return st.one_of(
        st.lists(children, max_size=5).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(keys, children), max_size=5).map(
            lambda pairs: "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
        ),
        st.tuples(_TAGS, children).map(" ".join),
        st.tuples(_ANCHORS, children).map(lambda pair: f"&{pair[0]} {pair[1]}"),
    )


# One YAML value written in flow style: scalars, collections, tags, anchors, aliases.
VALUES = st.recursive(_LEAF, _flow, max_leaves=16)


def _deep(depth: int, kind: str) -> str:
    if kind == "flow-seq":
        return "[" * depth + "1" + "]" * depth
    if kind == "flow-map":
        return "{a: " * depth + "1" + "}" * depth
    depth = min(depth, 150)  # block style grows as the square of its depth
    return "".join("  " * i + "k:\n" for i in range(depth)) + "  " * depth + "v\n"


_DEEP = st.builds(
    _deep,
    st.integers(min_value=0, max_value=2500),
    st.sampled_from(["flow-seq", "flow-map", "block"]),
)
_BOMB = st.builds(
    lambda width, levels, name: "\n".join(bomb_list(name, width, levels)) + "\n",
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=12),
    st.sampled_from(["rules", "assets", "credentials", "x"]),
)
# A block mapping of such values.
BLOCKS = st.lists(st.tuples(_WORDS, VALUES), max_size=8).map(
    lambda pairs: "".join(f"{k}: {v}\n" for k, v in pairs)
)

# Bytes spliced in anywhere: broken UTF-8, controls, YAML syntax.
_SPLICES = st.sampled_from(
    [
        b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"\x07", b"\x1b",
        b"\n", b"\r", b"\t", b": ", b"- ", b"&a ", b"*a", b"!x ", b"{", b"[", b"]", b"'", b'"',
        b"---\n", b"%YAML 1.1\n", b"? ", b"<<: *a\n",
    ]
)  # fmt: skip


def _spliced(document: bytes, splices: list[tuple[int, bytes]]) -> bytes:
    for where, piece in splices:
        at = where % (len(document) + 1)
        document = document[:at] + piece + document[at:]
    return document


def mutated(documents: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Documents with bytes spliced in at random places (half of them none)."""
    splice = st.tuples(st.integers(min_value=0, max_value=1 << 20), _SPLICES)
    none: list[tuple[int, bytes]] = []
    splices = st.one_of(st.just(none), st.lists(splice, min_size=1, max_size=3))
    return st.builds(lambda text, cuts: _spliced(text.encode("utf-8"), cuts), documents, splices)


# Any file at all: random bytes and text, and YAML of every hostile kind.
DOCUMENTS: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    mutated(st.one_of(VALUES, BLOCKS, _DEEP, _BOMB)),
)


def filled(template: str, *slots: tuple[str, st.SearchStrategy[str]]) -> st.SearchStrategy[bytes]:
    """`template` with its `{0}`..`{n}` slots filled, then spliced: a real
    file's shape, so that the loader's own checks after the reader run too.
    Each slot is (a valid value, a strategy of hostile ones); three times in
    four one slot is hostile and the rest valid, else all are hostile."""

    def one_hostile(index: int) -> st.SearchStrategy[tuple[str, ...]]:
        # A plain scalar half the time: a wrong type gets past the reader.
        return st.tuples(
            *(
                st.one_of(bad, _SCALARS) if i == index else st.just(good)
                for i, (good, bad) in enumerate(slots)
            )
        )

    index = st.integers(min_value=0, max_value=len(slots) - 1)
    every = st.tuples(*(bad for _, bad in slots))
    values = st.sampled_from(["one", "one", "one", "every"]).flatmap(
        lambda kind: index.flatmap(one_hostile) if kind == "one" else every
    )
    return mutated(values.map(lambda filling: template.format(*filling)))


def written(path: Path, document: bytes) -> Path:
    path.write_bytes(document)
    return path
