"""User-written YAML files checked against a JSON Schema (rules, inventories):
problems carry the file and line, and all of a file's problems are collected."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from scanner.support.errors import InputError
from scanner.support.files import FileReadError, read_text

# libyaml's safe loader when PyYAML was built with it: the CVE rules are many.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FileProblem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class FileProblems(InputError):
    """One or more problems with user files; the message shows the first."""

    what = "file"

    def __init__(self, problems: Sequence[FileProblem]) -> None:
        self.problems = tuple(problems)
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"invalid {self.what}: {self.problems[0]}{more}")


class YamlFileError(Exception):
    """A file that cannot be read or is not YAML: its one problem."""

    def __init__(self, problem: FileProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_yaml(path: Path, max_bytes: int, what: str) -> tuple[yaml.Node | None, Any]:
    """The file's YAML node tree (for line numbers) and its data."""
    try:
        text = read_text(path, max_bytes, what)
    except FileReadError as exc:
        raise YamlFileError(FileProblem(path, exc.line, exc.problem)) from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = FileProblem(path, line, f"not valid YAML: {exc.problem or exc}")
        raise YamlFileError(problem) from None
    except yaml.YAMLError as exc:
        raise YamlFileError(FileProblem(path, 1, f"not valid YAML: {exc}")) from None
    return node, data


@lru_cache(maxsize=4)
def schema_validator(path: Path) -> jsonschema.protocols.Validator:
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
