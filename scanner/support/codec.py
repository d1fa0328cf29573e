"""Turn the frozen dataclasses of the model into JSON data and back.

Decoding is driven by the type hints, so a new field in the model needs no
code here; unknown keys are ignored (forward compatible) and missing keys
take the field's default. The data may come from a hostile file: integers
must fit 64 bits, numbers be finite, and messages quote a bounded piece of it.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")

_INT_BOUND = 1 << 63
# What a message quotes of a value: a few items and characters, a level or two.
_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother = 2, 40, 40
_SHOWN.maxlist = _SHOWN.maxdict = _SHOWN.maxtuple = 4


class DecodeError(ValueError):
    pass


def to_data(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _key(key: object) -> str:
    """A key as a path step: bounded, escapes shown, without the quotes."""
    return _SHOWN.repr(str(key))[1:-1]


def from_data(cls: type[T], data: Any, path: str = "$") -> T:
    return typing.cast(T, _decode(cls, data, path))


def _decode(tp: Any, data: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _decode(arg, data, path)
            except DecodeError:
                continue
        raise DecodeError(f"{path}: {_SHOWN.repr(data)} does not fit {tp}")
    if origin is tuple:
        if not isinstance(data, list):
            raise DecodeError(f"{path}: expected a list")
        (item_type, _ellipsis) = typing.get_args(tp)
        return tuple(_decode(item_type, v, f"{path}[{i}]") for i, v in enumerate(data))
    if origin is dict:
        if not isinstance(data, dict):
            raise DecodeError(f"{path}: expected an object")
        _key_type, value_type = typing.get_args(tp)
        return {str(k): _decode(value_type, v, f"{path}.{_key(k)}") for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise DecodeError(f"{path}: expected an object for {tp.__name__}")
        hints = _hints(tp)
        kwargs: dict[str, Any] = {}
        for field in dataclasses.fields(tp):
            if field.name in data:
                kwargs[field.name] = _decode(
                    hints[field.name], data[field.name], f"{path}.{field.name}"
                )
            elif (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise DecodeError(f"{path}: missing {field.name!r}")
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError:
            values = [m.value for m in tp]
            raise DecodeError(f"{path}: {_SHOWN.repr(data)} is not one of {values}") from None
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise DecodeError(f"{path}: expected an integer")
        if not -_INT_BOUND <= data < _INT_BOUND:
            raise DecodeError(f"{path}: integer out of range (at most 64 bits)")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise DecodeError(f"{path}: expected a string")
        return data
    if tp is bool:
        if not isinstance(data, bool):
            raise DecodeError(f"{path}: expected true or false")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise DecodeError(f"{path}: expected a number")
        # float() of a 400-digit integer raises OverflowError; NaN is no JSON.
        if isinstance(data, int) and not -_INT_BOUND <= data < _INT_BOUND:
            raise DecodeError(f"{path}: number out of range (at most 64 bits)")
        if not math.isfinite(data):
            raise DecodeError(f"{path}: number out of range (not finite)")
        return float(data)
    raise DecodeError(f"{path}: cannot decode type {tp}")
