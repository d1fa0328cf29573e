"""The one reader of YAML files a user gives (rules, inventories, credentials,
feed pages): hostile input is refused with its file and line, never a hang, a
traceback or a quoted secret.

The text is composed into a node tree once (libyaml when PyYAML has it), and
the data is built from that tree here, with bounds PyYAML does not keep: how
deep collections nest, how much aliases expand (a "billion laughs" document
is a few hundred bytes), how large integers are; duplicate keys and tags
other than YAML's plain types are errors. Files checked against a JSON Schema
also use `schema_validator`, `line_of` and `error_path`, and collect all of a
file's problems as `FileProblem`s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import yaml

from scanner.support.errors import InputError
from scanner.support.files import FileReadError, read_text

# Declared apart (`problems`), so that declaring a kind of problem needs no
# YAML parser; still importable from here, where most of them are made.
from scanner.support.problems import FileProblem as FileProblem
from scanner.support.problems import FileProblems as FileProblems

if TYPE_CHECKING:
    import jsonschema


class YamlFileError(InputError):
    """A file that cannot be read or is not acceptable YAML: its one problem."""

    def __init__(self, problem: FileProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class YamlLimits:
    """What one file may ask of the reader; past any bound the file is refused.

    The built-in rules nest 11 levels at most and their aliases add 182
    nodes, so the defaults leave room for any hand-written file while keeping
    what comes after the reader (schema validation, rule building, matching:
    all recursive, all walking aliases expanded) small and shallow.
    """

    # Collections inside collections. Schema validation and the rule builder
    # recurse several frames per level: Python's stack ran out between 200 and
    # 400 levels (100 and 200 nested `all:`).
    max_depth: int = 64
    # Nodes and scalar characters that aliases add to what is written out:
    # everything downstream sees an alias as a full copy.
    max_alias_nodes: int = 10_000
    max_alias_chars: int = 1024 * 1024
    # Integers must fit 64 bits: counts and ports, never arithmetic on 5,000 digits.
    int_bits: int = 63


DEFAULT_LIMITS = YamlLimits()

_YAML = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP, _MERGE = (_YAML + name for name in ("str", "seq", "map", "merge"))
# The plain scalar types (YAML 1.1, as PyYAML resolves them), by what to call a bad one.
_SCALARS = {
    _YAML + "null": "null",
    _YAML + "bool": "boolean",
    _YAML + "int": "integer",
    _YAML + "float": "number",
    _YAML + "timestamp": "date",
    _YAML + "value": "value",  # a lone "=": read as that text
}
# An integer literal this long is out of range however it is written; checked
# before converting (Python's int() is quadratic in the digits).
_MAX_INT_LITERAL = 200

# What YAML allows in a stream (YAML 1.1, 5.1; the set PyYAML and libyaml check).
_NOT_YAML_TEXT = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class _PyLoader(yaml.SafeLoader):
    """PyYAML's own composer, when libyaml is missing: it recurses once per
    level, so it stops at the depth bound before Python's stack does (libyaml
    stops at 1000 levels by itself)."""

    max_depth = DEFAULT_LIMITS.max_depth
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            self._depth += 1
            try:
                if self._depth > self.max_depth:
                    event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
                    raise _TooDeep(event.start_mark.line + 1)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


_LIBYAML: type[yaml.CSafeLoader] | None = getattr(yaml, "CSafeLoader", None)
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _AliasProblem(Exception):
    """An alias past the bounds; the node tree no longer knows where it was written."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def read_yaml(
    path: Path,
    max_bytes: int,
    what: str,
    *,
    limits: YamlLimits = DEFAULT_LIMITS,
    secret: bool = False,
) -> tuple[yaml.Node | None, Any]:
    """The file's YAML node tree (for line numbers) and its data, or a
    `YamlFileError` naming the file and line. With `secret`, no problem
    quotes anything written in the file (it holds passwords)."""
    try:
        text = read_text(path, max_bytes, what)
    except FileReadError as exc:
        raise YamlFileError(FileProblem(path, exc.line, exc.problem)) from None
    return parse_yaml(text, path, limits=limits, secret=secret)


def parse_yaml(
    text: str,
    path: Path,
    *,
    limits: YamlLimits = DEFAULT_LIMITS,
    secret: bool = False,
) -> tuple[yaml.Node | None, Any]:
    """`read_yaml` for text already in hand; `path` is only for the problems."""
    bad = _NOT_YAML_TEXT.search(text)
    if bad is not None:
        code = ord(bad.group())
        kind = "control character" if code < 0x20 or 0x7F <= code <= 0x9F else "character"
        line = text.count("\n", 0, bad.start()) + 1
        raise YamlFileError(FileProblem(path, line, f"YAML does not allow the {kind} U+{code:04X}"))
    node = _compose(text, path, limits, secret)
    if node is None:
        return None, None
    try:
        data, _, _ = _Builder(path, limits, secret).build(node, 0)
    except _AliasProblem as exc:
        line = _alias_line(text, limits) or exc.line
        raise YamlFileError(FileProblem(path, line, exc.message)) from None
    return node, data


def _compose(text: str, path: Path, limits: YamlLimits, secret: bool) -> yaml.Node | None:
    loader: yaml.CSafeLoader | _PyLoader | None = None
    try:
        if _LIBYAML is not None:
            loader = _LIBYAML(text)
        else:
            loader = _PyLoader(text)  # its reader checks the characters here
            loader.max_depth = limits.max_depth
        return loader.get_single_node()
    except _TooDeep as exc:
        raise YamlFileError(FileProblem(path, exc.line, _too_deep(limits))) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        if problem == "exceeded maximum nesting depth":  # libyaml's own bound, 1000
            problem = _too_deep(limits)
        elif problem == "second occurrence" and exc.context_mark is not None:
            problem = f"a duplicate anchor (first on line {exc.context_mark.line + 1})"
        elif exc.problem and exc.context and not exc.context.startswith("while "):
            problem = f"{exc.context}, {exc.problem}"  # "expected a single document"
        if secret and _LIBYAML is None:
            problem = _unquoted(problem)  # PyYAML's own messages quote characters read
        line = mark.line + 1 if mark else 1
        if problem != _too_deep(limits):
            problem = f"not valid YAML: {problem}"
        raise YamlFileError(FileProblem(path, line, problem)) from None
    except yaml.YAMLError as exc:  # a ReaderError: not past the character check above
        position = getattr(exc, "position", 0)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
        raise YamlFileError(FileProblem(path, line, "not valid YAML text")) from None
    except RecursionError:  # only when a caller's limits are beyond what the stack takes
        raise YamlFileError(FileProblem(path, 1, _too_deep(limits))) from None
    finally:
        if loader is not None:
            loader.dispose()


def _too_deep(limits: YamlLimits) -> str:
    return f"nested deeper than {limits.max_depth} levels"


def _unquoted(problem: str) -> str:
    return re.sub(r"'[^']*'|\"[^\"]*\"", "a character", problem)


class _Builder:
    """Builds Python data from a node tree, as PyYAML's safe loader would,
    within the limits. Aliased nodes are built once and shared, but counted
    in full each time, as everything downstream walks them."""

    def __init__(self, path: Path, limits: YamlLimits, secret: bool) -> None:
        self.path, self.limits, self.secret = path, limits, secret
        self.max_int = 2**limits.int_bits
        self.built: dict[int, tuple[Any, int, int]] = {}  # id(node): data, nodes, characters
        self.open: set[int] = set()  # collections being built: an alias to one is a loop
        self.alias_nodes = 0
        self.alias_chars = 0

    def fail(self, node: yaml.Node, message: str) -> NoReturn:
        raise YamlFileError(FileProblem(self.path, node.start_mark.line + 1, message))

    def build(self, node: yaml.Node, depth: int) -> tuple[Any, int, int]:
        """The node's data, and how many nodes and scalar characters it holds expanded."""
        key = id(node)
        done = self.built.get(key)
        if done is not None:
            self.alias_nodes += done[1]
            self.alias_chars += done[2]
            if (
                self.alias_nodes > self.limits.max_alias_nodes
                or self.alias_chars > self.limits.max_alias_chars
            ):
                raise _AliasProblem(_ALIAS_BOMB.format(limits=self.limits), _line(node))
            return done
        if key in self.open:
            raise _AliasProblem(_ALIAS_LOOP, _line(node))
        if isinstance(node, yaml.ScalarNode):
            result: tuple[Any, int, int] = (self.scalar(node), 1, len(node.value))
        else:
            if depth >= self.limits.max_depth:
                self.fail(node, _too_deep(self.limits))
            self.open.add(key)
            if isinstance(node, yaml.SequenceNode):
                result = self.sequence(node, depth + 1)
            elif isinstance(node, yaml.MappingNode):
                result = self.mapping(node, depth + 1)
            else:  # pragma: no cover - the composer makes only these three
                self.fail(node, "not valid YAML: an unknown kind of node")
            self.open.discard(key)
        self.built[key] = result
        return result

    def sequence(self, node: yaml.SequenceNode, depth: int) -> tuple[Any, int, int]:
        if node.tag != _SEQ:
            self.fail(node, _bad_tag(node.tag, "list"))
        items: list[Any] = []
        nodes, chars = 1, 0
        for child in node.value:
            value, n, c = self.build(child, depth)
            items.append(value)
            nodes, chars = nodes + n, chars + c
        return items, nodes, chars

    def mapping(self, node: yaml.MappingNode, depth: int) -> tuple[Any, int, int]:
        if node.tag != _MAP:
            self.fail(node, _bad_tag(node.tag, "mapping"))
        explicit: dict[Any, Any] = {}
        merged: list[dict[Any, Any]] = []
        first_line: dict[Any, int] = {}
        nodes, chars = 1, 0
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.fail(key_node, "a mapping key must be a plain value, not a list or mapping")
            key, n, c = self.build(key_node, depth)
            value, vn, vc = self.build(value_node, depth)
            nodes, chars = nodes + n + vn, chars + c + vc
            if key_node.tag == _MERGE:
                key = _MERGE_KEY  # a second "<<" is a duplicate, whatever it merges
            if key in first_line:
                shown = "" if self.secret else f" {_shown(str(key))!r}"
                if key is _MERGE_KEY:
                    shown = " '<<'"
                self.fail(key_node, f"duplicate key{shown} (first on line {first_line[key]})")
            first_line[key] = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                merged.extend(self.merge_sources(key_node, value))
            else:
                explicit[key] = value
        if not merged:
            return explicit, nodes, chars
        # As PyYAML merges: the mapping's own keys win, then the first merged mapping.
        result: dict[Any, Any] = {}
        for source in reversed(merged):
            result.update(source)
        result.update(explicit)
        return result, nodes, chars

    def merge_sources(self, key_node: yaml.Node, value: Any) -> list[dict[Any, Any]]:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(source, dict) for source in sources):
            self.fail(key_node, "a merge key `<<` takes a mapping or a list of mappings")
        return sources

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag, value = node.tag, node.value
        if tag == _STR:
            return value
        kind = _SCALARS.get(tag)
        if kind is None:
            if tag == _MERGE:  # the merge key's own scalar: "<<"
                return value
            self.fail(node, _bad_tag(tag, "plain value"))
        # An explicit tag (`!!int abc`) must still read as its type.
        implicit = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
        if implicit != tag:
            self.fail(node, f"not a valid {kind}")
        try:
            if kind == "integer":
                return self.integer(node)
            if kind == "number":
                return _CONSTRUCTOR.construct_yaml_float(node)
            if kind == "date":
                if _CONSTRUCTOR.timestamp_regexp.match(value) is None:
                    self.fail(node, "not a valid date")
                return _CONSTRUCTOR.construct_yaml_timestamp(node)
            if kind == "boolean":
                return _CONSTRUCTOR.construct_yaml_bool(node)
        except (ValueError, OverflowError):  # 0x_, 1.5:2:...(huge), 2024-13-45
            self.fail(node, f"not a valid {kind}")
        return None if kind == "null" else value

    def integer(self, node: yaml.ScalarNode) -> int:
        if len(node.value) <= _MAX_INT_LITERAL:
            number = _CONSTRUCTOR.construct_yaml_int(node)
            if -self.max_int <= number < self.max_int:
                return number
        bits = self.limits.int_bits
        self.fail(node, f"integer out of range (trustscan reads -2**{bits} to 2**{bits} - 1)")


_MERGE_KEY = object()
_ALIAS_BOMB = (
    "aliases expand past {limits.max_alias_nodes} nodes or {limits.max_alias_chars} "
    "characters (an alias bomb?)"
)
_ALIAS_LOOP = "an alias refers to a collection that contains it"


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _shown(text: str, limit: int = 60) -> str:
    """File text fit for a one-line message: printable and short."""
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text[: limit + 1])
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bad_tag(tag: str, kind: str) -> str:
    if tag in (_STR, _SEQ, _MAP, *_SCALARS):
        return f"YAML tag !!{tag.removeprefix(_YAML)} does not fit a {kind}"
    if tag.startswith(_YAML):
        return f"unsupported YAML tag !!{_shown(tag.removeprefix(_YAML))}"
    return f"unknown YAML tag {_shown(tag)}"


def _alias_line(text: str, limits: YamlLimits) -> int | None:
    """The line of the first alias past the limits (or into a collection still
    open), found again from the parser's events, which keep aliases' marks."""
    loader: yaml.CSafeLoader | yaml.SafeLoader | None = None
    sizes: dict[str, tuple[int, int]] = {}  # anchor: nodes, characters expanded
    open_: list[list[Any]] = []  # per open collection: anchor, nodes, characters
    added_nodes = added_chars = 0
    try:
        loader = _LIBYAML(text) if _LIBYAML is not None else yaml.SafeLoader(text)
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                open_.append([event.anchor, 1, 0])
                continue
            if isinstance(event, yaml.AliasEvent):
                if event.anchor not in sizes:
                    return _event_line(event)
                nodes, chars = sizes[event.anchor]
                added_nodes, added_chars = added_nodes + nodes, added_chars + chars
                if added_nodes > limits.max_alias_nodes or added_chars > limits.max_alias_chars:
                    return _event_line(event)
            elif isinstance(event, yaml.ScalarEvent):
                nodes, chars = 1, len(event.value)
                if event.anchor is not None:
                    sizes[event.anchor] = (nodes, chars)
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, nodes, chars = open_.pop()
                if anchor is not None:
                    sizes[anchor] = (nodes, chars)
            else:
                continue
            if open_:
                open_[-1][1] += nodes
                open_[-1][2] += chars
    except (yaml.YAMLError, IndexError):
        return None
    finally:
        if loader is not None:
            loader.dispose()
    return None


def _event_line(event: yaml.Event) -> int | None:
    return event.start_mark.line + 1 if event.start_mark is not None else None


@lru_cache(maxsize=4)
def schema_validator(path: Path) -> jsonschema.protocols.Validator:
    # Imported here: jsonschema takes longer to import than trustscan needs to
    # start, and only the commands that validate a file need it.
    import jsonschema

    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def line_of(node: yaml.Node | None, path: Iterable[str | int]) -> int:
    """The 1-based line of the YAML node at `path`, or of its nearest parent."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for step in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == step:
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(step, int)
            and 0 <= step < len(node.value)
        ):
            child = node.value[step]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def error_path(error: jsonschema.ValidationError) -> list[str | int]:
    """Where to point: for an unknown key, the key itself, not its mapping."""
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = [key for key in error.instance if key not in allowed]
        if extra:
            path.append(str(extra[0]))
    return path
