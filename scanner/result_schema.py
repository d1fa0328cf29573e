"""A JSON Schema (draft 2020-12) for the `ScanResult` JSON, built from the model.

The schema is derived from the dataclasses of `scanner.model` and their type
hints, walked the way `scanner.support.codec` walks them when it decodes:

- a dataclass is an object with `properties`, `required` (the fields without
  a default) and `additionalProperties: false`; every dataclass but
  `ScanResult` itself is a `$defs` entry, referenced with `$ref`;
- a `(str, Enum)` is a string `enum` of its values (also in `$defs`);
- `tuple[X, ...]` is an array of X, `dict[str, X]` an object of X;
- `X | None` is `anyOf` X and null;
- `int`, `float`, `str` and `bool` are integer, number, string and boolean.

The schema is strict about the version it describes: a field this version
does not know is an error. `scanner.result_io` reads forward (unknown keys
are ignored; the versions in `READ_VERSIONS` are accepted, and a result is
always written back as the current version), so validate a result against the
schema of the trustscan that wrote it.

Where it lives: `reports/scan-result.schema.json`. The `reports/` directory
already ships inside the wheel (force-included as `scanner/_data/reports/`,
see pyproject.toml), next to the templates that render the same result, just
as `rules/rule.schema.json` ships with the rules. So an installed trustscan
carries the schema of its own output with no packaging change, and
`scanner.support.resources.result_schema_path()` finds it in a checkout and in a
wheel alike.

Regenerate it after a change to the model (a test fails until you do):

    .venv/bin/python -m scanner.result_schema > reports/scan-result.schema.json
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from enum import Enum
from typing import Any

from scanner.model import ScanResult
from scanner.result_io import READ_VERSIONS, SCHEMA_VERSION
from scanner.support.codec import to_data

SCHEMA_ID = "https://trustscan.invalid/schemas/scan-result.json"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SCALARS: dict[Any, str] = {int: "integer", float: "number", str: "string", bool: "boolean"}

JSONObject = dict[str, Any]


def _doc(cls: type) -> str | None:
    """The class's own docstring, not the signature dataclasses make up."""
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or doc.startswith(f"{cls.__name__}("):
        return None
    return inspect.cleandoc(doc)


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, JSONObject] = {}

    def type_schema(self, tp: Any) -> JSONObject:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            args = typing.get_args(tp)
            options = [self.type_schema(a) for a in args if a is not type(None)]
            if type(None) in args:
                options.append({"type": "null"})
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin is tuple:
            args = typing.get_args(tp)
            if len(args) != 2 or args[1] is not Ellipsis:
                raise TypeError(f"only tuple[X, ...] is supported, not {tp}")
            return {"type": "array", "items": self.type_schema(args[0])}
        if origin is dict:
            _key, value = typing.get_args(tp)
            return {"type": "object", "additionalProperties": self.type_schema(value)}
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self._ref(tp, self.object_schema)
        if isinstance(tp, type) and issubclass(tp, Enum):
            return self._ref(tp, self.enum_schema)
        if tp in _SCALARS:
            return {"type": _SCALARS[tp]}
        raise TypeError(f"no JSON Schema for type {tp!r}")

    def _ref(self, cls: type, build: typing.Callable[[type], JSONObject]) -> JSONObject:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: stops recursion, keeps first-seen order
            self.defs[name] = build(cls)
        return {"$ref": f"#/$defs/{name}"}

    def enum_schema(self, cls: type) -> JSONObject:
        schema: JSONObject = {"type": "string"}
        doc = _doc(cls)
        if doc:
            schema["description"] = doc
        schema["enum"] = [member.value for member in typing.cast(type[Enum], cls)]
        return schema

    def object_schema(self, cls: type) -> JSONObject:
        hints = typing.get_type_hints(cls)
        properties: dict[str, JSONObject] = {}
        required: list[str] = []
        for field in dataclasses.fields(cls):
            prop = self.type_schema(hints[field.name])
            if field.default is not dataclasses.MISSING:
                prop = {**prop, "default": to_data(field.default)}
            elif field.default_factory is not dataclasses.MISSING:
                prop = {**prop, "default": to_data(field.default_factory())}
            else:
                required.append(field.name)
            properties[field.name] = prop
        schema: JSONObject = {"type": "object"}
        doc = _doc(cls)
        if doc:
            schema["description"] = doc
        schema["additionalProperties"] = False
        schema["required"] = required
        schema["properties"] = properties
        return schema


def build_schema() -> JSONObject:
    """The JSON Schema of a `ScanResult` as `scanner.result_io.dumps` writes it."""
    builder = _Builder()
    body = builder.object_schema(ScanResult)
    body.pop("description", None)
    major = SCHEMA_VERSION.split(".", 1)[0]
    body["properties"]["schema_version"] = {
        "type": "string",
        "description": (
            f"Version of this format: {SCHEMA_VERSION} for this schema. This trustscan "
            f"reads {', '.join(READ_VERSIONS)} and writes {SCHEMA_VERSION}; a newer "
            "version is refused with a request to upgrade."
        ),
        "pattern": rf"^{major}\.[0-9]+$",
    }
    return {
        "$schema": _DIALECT,
        "$id": SCHEMA_ID,
        "title": "trustscan scan result",
        "description": (
            f"A trustscan scan result, schema_version {SCHEMA_VERSION}: the JSON file "
            "`trustscan scan --json` writes and every report and diff is built from. "
            "Generated from scanner/model.py by `python -m scanner.result_schema`; "
            "do not edit by hand."
        ),
        **body,
        "$defs": builder.defs,
    }


def render_schema() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    print(render_schema(), end="")


if __name__ == "__main__":
    main()
