"""The JSON reader: hostile documents are an InputError with file and line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.support.errors import InputError
from scanner.support.json_files import JsonFileError, JsonLimits, load_json, parse_json
from tests.properties import PROPERTY, json_values


def test_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"a": [1, 2.5, "x", null, true]}', encoding="utf-8")
    assert load_json(path) == {"a": [1, 2.5, "x", None, True]}
    path.write_text('{"a": \n NaN}', encoding="utf-8")
    with pytest.raises(JsonFileError) as info:
        load_json(path)
    assert str(info.value).startswith(f"{path}:2: NaN is not a JSON number")
    assert (info.value.origin, info.value.line) == (str(path), 2)


def test_text_is_named_by_its_origin() -> None:
    assert load_json("[1]", "inline") == [1]
    with pytest.raises(JsonFileError, match=r"^inline:1: not valid JSON \(Expecting value"):
        load_json("[", "inline")
    with pytest.raises(JsonFileError, match=r"^<json>:1: "):
        load_json("[")


def test_errors_are_input_errors() -> None:
    assert issubclass(JsonFileError, InputError)


def test_missing_file_too_large_and_not_utf8(tmp_path: Path) -> None:
    missing = tmp_path / "gone.json"
    with pytest.raises(JsonFileError, match=rf"^{missing}: cannot read baseline: "):
        load_json(missing, what="baseline")
    big = tmp_path / "big.json"
    big.write_text("[" + "1," * 100 + "1]", encoding="utf-8")
    with pytest.raises(JsonFileError, match=rf"^{big}: baseline is larger than 50 bytes$"):
        load_json(big, what="baseline", max_bytes=50)
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'[\n"caf\xe9"]')
    with pytest.raises(JsonFileError, match=rf"^{latin}:2: baseline is not UTF-8 text$"):
        load_json(latin, what="baseline")


def test_a_byte_order_mark_is_accepted() -> None:
    assert load_json('\ufeff{"a": 1}', "bom") == {"a": 1}


def test_syntax_errors_name_line_and_column() -> None:
    with pytest.raises(JsonFileError) as info:
        load_json('{\n  "a": 1,\n  oops\n}', "broken.json")
    assert str(info.value) == (
        "broken.json:3: not valid JSON "
        "(Expecting property name enclosed in double quotes, column 3)"
    )


@pytest.mark.parametrize("opening", ["[", '{"k": '])
@pytest.mark.parametrize("depth", [65, 1_000, 100_000, 1_000_000])
def test_deep_nesting_is_refused_at_the_line_it_passes_the_bound(opening: str, depth: int) -> None:
    closing = "]" if opening == "[" else "}"
    text = "[\n" * 10 + opening * (depth - 10) + "0" + closing * (depth - 10) + "]" * 10
    with pytest.raises(JsonFileError) as info:
        load_json(text, "deep.json")
    assert str(info.value) == "deep.json:11: arrays and objects nested more than 64 deep"


def test_nesting_at_the_bound_is_read() -> None:
    text = "[" * 64 + "]" * 64
    value: Any = load_json(text)
    for _ in range(63):
        (value,) = value
    assert value == []


def test_brackets_inside_strings_do_not_count() -> None:
    assert load_json('["' + "[" * 500 + '", "]]]]"]') == ["[" * 500, "]]]]"]
    text = '["]]]]]]", ' + "[" * 70 + "]" * 70 + "]"
    with pytest.raises(JsonFileError, match="nested more than 64"):
        load_json(text)


@pytest.mark.parametrize(
    ("literal", "problem"),
    [
        ("9" * 400, "the integer 999999999999...9999 (400 characters) is out of range"),
        ("9" * 5000, "the integer 999999999999...9999 (5000 characters) is out of range"),
        ("9223372036854775808", "the integer 9223372036854775808 is out of range"),
        ("-9223372036854775809", "the integer -9223372036854775809 is out of range"),
        ("1e400", "the number 1e400 is out of range"),
        ("-1.5E+309", "the number -1.5E+309 is out of range"),
        ("1." + "0" * 200, "the number 1.0000000000...0000 (202 characters) is out of range"),
        ("NaN", "NaN is not a JSON number (JSON has no NaN or Infinity)"),
        ("Infinity", "Infinity is not a JSON number (JSON has no NaN or Infinity)"),
        ("-Infinity", "-Infinity is not a JSON number (JSON has no NaN or Infinity)"),
    ],
)
def test_numbers_out_of_range_are_refused_at_their_line(literal: str, problem: str) -> None:
    # The same text in a string first: the line is the number's, not the string's.
    text = f'{{"note": "{literal}",\n "n": [0,\n {literal}]}}'
    with pytest.raises(JsonFileError) as info:
        load_json(text, "n.json")
    assert str(info.value).startswith(f"n.json:3: {problem}")


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("1e-400", 0.0),
        ("-0", 0),
    ],
)
def test_numbers_in_range_are_read(literal: str, value: object) -> None:
    assert load_json(f"[{literal}]") == [value]


def test_limits_can_be_set() -> None:
    limits = JsonLimits(max_depth=2, int_bits=7, max_number_chars=5)
    assert parse_json("[[127, 1.25]]", "x", limits=limits) == [[127, 1.25]]
    with pytest.raises(JsonFileError, match="nested more than 2 deep"):
        parse_json("[[[]]]", "x", limits=limits)
    with pytest.raises(JsonFileError, match=r"the integer 128 is out of range \(at most 8 bits"):
        parse_json("[128]", "x", limits=limits)
    with pytest.raises(JsonFileError, match=r"the number 1\.2500 is out of range"):
        parse_json("[1.2500]", "x", limits=limits)


def test_surrogates() -> None:
    assert load_json('["\\ud83d\\ude00"]') == ["\U0001f600"]  # an escaped pair is one character
    with pytest.raises(JsonFileError, match=r"^s:2: a string holds a lone surrogate escape"):
        load_json('["\\ud83d\\ude00 ok",\n "\\udE00"]', "s")
    with pytest.raises(JsonFileError, match=r"^s:2: a string holds a lone surrogate escape"):
        load_json('{"ok": 1,\n "\\ud800": 2}', "s")
    with pytest.raises(JsonFileError, match=r"^s:2: the text holds a lone surrogate"):
        load_json('[\n"\ud800"]', "s")


def test_a_refused_document_costs_no_more_than_reading_it() -> None:
    # An unterminated string full of escaped quotes: a backtracking scan
    # would be quadratic; the reader stops at json's own error.
    text = '["' + '\\"' * 2_000_000
    with pytest.raises(JsonFileError, match="Unterminated string"):
        load_json(text)


# --- Property: load_json is json.loads within the bounds, else JsonFileError --

_VALUES = json_values(leaves=25, key_size=5, text_size=10)
_NUMBERS = st.one_of(
    st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),
    st.sampled_from(["1e400", "-1e400", "1e-400", "NaN", "-Infinity", "Infinity", "-0.0"]),
)
_NESTED = st.tuples(
    st.sampled_from(["[", '{"a":']), st.integers(min_value=60, max_value=50_000), _NUMBERS
).map(lambda t: t[0] * t[1] + t[2] + ("]" if t[0] == "[" else "}") * t[1])


def _within_bounds(value: Any) -> bool:
    """An independent, recursive reading of the bounds (the documents here
    are shallow enough for Python's stack)."""

    def ok(item: Any, depth: int) -> bool:
        if isinstance(item, dict | list):
            if depth >= 64:
                return False
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            return all(ok(child, depth + 1) for child in children)
        if isinstance(item, bool) or item is None:
            return True
        if isinstance(item, int):
            return -(2**63) <= item < 2**63
        if isinstance(item, float):
            return math.isfinite(item)
        return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in item)

    return ok(value, 0)


def _load(text: str) -> Any:
    try:
        return load_json(text, "p.json")
    except JsonFileError as exc:  # anything else fails the test
        return exc


def _agrees_with_json(text: str) -> None:
    loaded = _load(text)
    if isinstance(loaded, JsonFileError):
        message = str(loaded)
        assert message.startswith("p.json")
        assert "\n" not in message
        assert len(message) < 300
        try:
            plain = json.loads(text)
        except (ValueError, RecursionError):
            return  # json itself refuses it (ValueError covers 4,300 digits)
        assert not _within_bounds(plain), message
        return
    assert _within_bounds(loaded)
    assert json.dumps(loaded, sort_keys=True) == json.dumps(json.loads(text), sort_keys=True)


@PROPERTY
@given(_VALUES, st.booleans())
def test_property_json_values(value: object, ascii_only: bool) -> None:
    _agrees_with_json(json.dumps(value, allow_nan=True, ensure_ascii=ascii_only))


@PROPERTY
@given(_NESTED)
def test_property_deep_and_huge(text: str) -> None:
    _agrees_with_json(text)


@PROPERTY
@given(st.text(alphabet=st.sampled_from('[]{}",:0123456789-.eE \n\\ua'), max_size=80))
def test_property_json_like_text(text: str) -> None:
    _agrees_with_json(text)
