"""Document stores (MongoDB, Elasticsearch): nested JSON or BSON documents
flattened into dotted field names (`address.city`) with their sampled values,
and summarised by the personal-data detectors.

Bounded for hostile documents: three levels deep, 100 fields, names of 120
printable characters, string values of 512.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from bson.decimal128 import Decimal128

from scanner.probes import personal_data
from scanner.probes.evidence import printable
from scanner.probes.personal_data import FieldReport

MAX_DEPTH = 3  # a.b.c: deep enough for addresses and profiles, bounded for hostile documents
MAX_FIELDS = 100  # field names per collection or index
NAME_CHARS = 120  # characters of one field or container name
_MAX_VALUE = 512  # characters of one sampled string: enough for any detector
_ITEMS = 20  # items of one array sampled

Fields = dict[str, list[object]]  # dotted field name -> sampled values


def field_name(prefix: str, key: object) -> str:
    """A nested key's dotted name (`address.` + `city`), bounded and printable."""
    return prefix + printable(str(key), NAME_CHARS)


def add_field(fields: Fields, name: str) -> list[object] | None:
    """The sampled values of field `name`, added if there is room for one
    more field; None when MAX_FIELDS are already there."""
    if name not in fields and len(fields) >= MAX_FIELDS:
        return None
    return fields.setdefault(name, [])


def _scalar(value: object) -> object | None:
    """A value the detectors can read, bounded; None for what they cannot."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value[:_MAX_VALUE]
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal128):
        return str(value)
    return None


def _flatten_into(document: Mapping[Any, Any], prefix: str, depth: int, fields: Fields) -> None:
    for key, value in document.items():
        name = field_name(prefix, key)
        values = add_field(fields, name)
        if values is None:
            return
        if isinstance(value, Mapping):
            if depth < MAX_DEPTH:
                _flatten_into(value, name + ".", depth + 1, fields)
            continue
        # Arrays count as their field: their scalar items are its values.
        items = value if isinstance(value, list) else [value]
        values.extend(v for v in map(_scalar, items[:_ITEMS]) if v is not None)


def flatten(documents: Iterable[Mapping[Any, Any]]) -> Fields:
    """Dotted field names (`address.city`, depth <= 3, at most 100) with their
    sampled scalar values, in the order the documents first show them."""
    fields: Fields = {}
    for document in documents:
        _flatten_into(document, "", 1, fields)
    return fields


def summarise(fields: Mapping[str, Sequence[object]], container: str) -> tuple[FieldReport, ...]:
    """Field reports (names, categories, masked samples) for one container."""
    return tuple(
        personal_data.summarise_field(name, container, values) for name, values in fields.items()
    )
