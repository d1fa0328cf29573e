"""The one reader of user YAML: what it builds, and every hostile file it
refuses with its file and line instead of hanging, crashing or quoting."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from scanner.support import yaml_files
from scanner.support.errors import InputError
from scanner.support.yaml_files import (
    FileProblem,
    YamlFileError,
    YamlLimits,
    parse_yaml,
    read_yaml,
)
from tests.scanner.support.hostile_yaml import (
    BLOCKS,
    DOCUMENTS,
    PROPERTY,
    VALUES,
    bomb_list,
    line_with,
    written,
)

MAX_BYTES = 1 << 20
# What the reader must agree with: the safe loader on the same parser.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "file.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problem(tmp_path: Path, text: str, **options: Any) -> FileProblem:
    path = _write(tmp_path, text)
    with pytest.raises(YamlFileError) as caught:
        read_yaml(path, MAX_BYTES, "test file", **options)
    assert isinstance(caught.value, InputError)
    assert str(caught.value) == str(caught.value.problem)
    assert caught.value.problem.path == path
    return caught.value.problem


@pytest.fixture(params=["libyaml", "pyyaml"])
def composer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both composers: libyaml's, and PyYAML's own where PyYAML has no libyaml."""
    if request.param == "pyyaml":
        monkeypatch.setattr(yaml_files, "_LIBYAML", None)
    else:
        assert yaml_files._LIBYAML is not None, "PyYAML built without libyaml: slow rule loading"
    return str(request.param)


def test_reads_what_the_safe_loader_reads(tmp_path: Path, composer: str) -> None:
    text = (
        "name: shop\n"
        "count: 120_000\n"
        "hex: 0x1F\n"
        "ratio: 1.5\n"
        "on: yes\n"
        "none: ~\n"
        "day: 2026-08-22\n"
        "list: [a, 'b', \"c\\u00e9\"]\n"
        "base: &base {x: 1, y: 2}\n"
        "merged:\n  <<: *base\n  y: 3\n"
        "again: *base\n"
    )
    node, data = read_yaml(_write(tmp_path, text), MAX_BYTES, "test file")
    assert isinstance(node, yaml.MappingNode)
    assert data == yaml.load(text, Loader=yaml.SafeLoader)
    assert data["day"] == dt.date(2026, 8, 22)
    assert data["merged"] == {"x": 1, "y": 3}
    assert data["again"] is data["base"]  # an alias is the same object, built once


def test_an_empty_file_is_none(tmp_path: Path) -> None:
    assert read_yaml(_write(tmp_path, "# nothing\n"), MAX_BYTES, "test file") == (None, None)


def test_alias_bomb_is_refused_at_the_alias_in_well_under_a_second(
    tmp_path: Path, composer: str
) -> None:
    text = "\n".join(bomb_list("lol")) + "\n"
    assert len(text) < 1024
    started = time.perf_counter()
    problem = _problem(tmp_path, text)
    assert time.perf_counter() - started < 1
    # l0 holds 11 nodes, l1 111 (110 by aliases), l2 1,111, l3 11,111: the
    # 10,000 nodes aliases may add are past during l3's ninth alias.
    assert problem.line == line_with(text, "&l3")
    assert problem.message == (
        "aliases expand past 10000 nodes or 1048576 characters (an alias bomb?)"
    )


def test_a_long_text_aliased_many_times_is_an_alias_bomb(tmp_path: Path) -> None:
    text = "big: &big " + "x" * 200_000 + "\ncopies: [" + ", ".join(["*big"] * 8) + "]\n"
    problem = _problem(tmp_path, text)
    assert problem.line == 2
    assert "aliases expand past" in problem.message


def test_aliases_within_the_budget_load(tmp_path: Path) -> None:
    text = "\n".join(bomb_list("lol", width=10, levels=3)) + "\n"  # 1,220 nodes added
    _, data = read_yaml(_write(tmp_path, text), MAX_BYTES, "test file")
    assert len(data["lol"][2]) == 10


def test_the_alias_budget_is_a_limit_a_caller_may_set(tmp_path: Path) -> None:
    path = _write(tmp_path, "a: &a [1, 2, 3]\nb: *a\n")
    assert read_yaml(path, MAX_BYTES, "test file")[1]["b"] == [1, 2, 3]
    with pytest.raises(YamlFileError, match=r"file\.yaml:2: aliases expand past 3 nodes"):
        read_yaml(path, MAX_BYTES, "test file", limits=YamlLimits(max_alias_nodes=3))


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path, composer: str) -> None:
    problem = _problem(tmp_path, "a: 1\nloop: &x\n  - 1\n  - *x\n")
    assert (problem.line, problem.message) == (
        4,
        "an alias refers to a collection that contains it",
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * 65 + "]" * 65, 1),
        ("{a: " * 65 + "1" + "}" * 65, 1),
        ("".join("  " * i + "k:\n" for i in range(70)) + "  " * 70 + "v\n", 65),
        ("x: " + "[" * 2000 + "]" * 2000 + "\n", 1),  # past libyaml's own 1000 too
    ],
)
def test_deep_nesting_is_refused(tmp_path: Path, composer: str, text: str, line: int) -> None:
    problem = _problem(tmp_path, text)
    assert (problem.line, problem.message) == (line, "nested deeper than 64 levels")


def test_nesting_up_to_the_limit_loads(tmp_path: Path, composer: str) -> None:
    _, data = read_yaml(_write(tmp_path, "[" * 64 + "]" * 64), MAX_BYTES, "test file")
    for _ in range(63):
        data = data[0]
    assert data == []


@pytest.mark.parametrize("digits", [20, 400, 5000])
def test_huge_integers_are_refused(tmp_path: Path, digits: int) -> None:
    problem = _problem(tmp_path, f"a: 1\nrecords: {'9' * digits}\n")
    assert (problem.line, problem.message) == (
        2,
        "integer out of range (trustscan reads -2**63 to 2**63 - 1)",
    )


@pytest.mark.parametrize(
    "literal", ["1:" + ":".join(["59"] * 40), "0x" + "f" * 17, "-9223372036854775809"]
)
def test_integers_past_64_bits_in_any_notation_are_refused(tmp_path: Path, literal: str) -> None:
    assert "integer out of range" in _problem(tmp_path, f"n: {literal}\n").message


def test_integers_at_the_bounds_load(tmp_path: Path) -> None:
    text = "max: 9223372036854775807\nmin: -9223372036854775808\n"
    _, data = read_yaml(_write(tmp_path, text), MAX_BYTES, "test file")
    assert data == {"max": 2**63 - 1, "min": -(2**63)}


def test_duplicate_keys_name_the_second_key(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "rules:\n  - id: a\n    severity: low\n    severity: high\n")
    assert (problem.line, problem.message) == (4, "duplicate key 'severity' (first on line 3)")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\n? a\n: 2\n", 2, "duplicate key 'a' (first on line 1)"),
        ("1: a\n0x1: b\n", 2, "duplicate key '1' (first on line 1)"),
        ("b: &b {x: 1}\nm:\n  <<: *b\n  <<: *b\n", 4, "duplicate key '<<' (first on line 3)"),
    ],
)
def test_keys_that_read_the_same_are_duplicates(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    assert _problem(tmp_path, text) == FileProblem(tmp_path / "file.yaml", line, message)


def test_a_secret_file_problem_quotes_no_key(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "a: 1\nhunter2: x\nhunter2: y\n", secret=True)
    assert (problem.line, problem.message) == (3, "duplicate key (first on line 2)")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("password: !secret hunter2", "unknown YAML tag !secret"),
        (
            "password: !!python/object/apply:os.system [hunter2]",
            "unsupported YAML tag !!python/object/apply:os.system",
        ),
        ("password: !!binary aHVudGVyMg==", "unsupported YAML tag !!binary"),
        ("password: !!set {hunter2}", "unsupported YAML tag !!set"),
        ("password: !!str {hunter2: 1}", "YAML tag !!str does not fit a mapping"),
        ("password: !%0A hunter2", "unknown YAML tag !\\x0a"),
        ("password: !!int hunter2", "not a valid integer"),
        ("password: !!float hunter2", "not a valid number"),
        ("password: !!bool hunter2", "not a valid boolean"),
        ("password: !!timestamp hunter2", "not a valid date"),
        ("password: 2024-13-45", "not a valid date"),
        ("password: 0x_", "not a valid integer"),
        ("<<: [hunter2]", "a merge key `<<` takes a mapping or a list of mappings"),
    ],
)  # fmt: skip
def test_tags_and_values_not_their_type_are_refused_without_quoting(
    tmp_path: Path, line: str, message: str
) -> None:
    problem = _problem(tmp_path, f"user: a\n{line}\n", secret=True)
    assert (problem.line, problem.message) == (2, message)
    assert "hunter2" not in str(problem)


def test_a_mapping_key_must_be_a_plain_value(tmp_path: Path) -> None:
    problem = _problem(tmp_path, "a: 1\n? [x, y]\n: 2\n")
    assert problem.line == 2
    assert problem.message == "a mapping key must be a plain value, not a list or mapping"


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("a: 1\nb: \x07\n", 2, "YAML does not allow the control character U+0007"),
        ("a: 1\n\nb: x\x00y\n", 3, "YAML does not allow the control character U+0000"),
        ("a: \x1b[31m\n", 1, "YAML does not allow the control character U+001B"),
        ("a: \x9b\n", 1, "YAML does not allow the control character U+009B"),
        ("a: \ufffe\n", 1, "YAML does not allow the character U+FFFE"),
    ],
)
def test_control_characters_are_refused(
    tmp_path: Path, content: str, line: int, message: str
) -> None:
    assert _problem(tmp_path, content) == FileProblem(tmp_path / "file.yaml", line, message)


def test_control_characters_past_the_check_are_still_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, composer: str
) -> None:
    # The parser's own ReaderError, should a character ever pass the check.
    monkeypatch.setattr(yaml_files, "_NOT_YAML_TEXT", re.compile("(?!)"))
    problem = _problem(tmp_path, "a: 1\nb: \x07\n")
    assert (problem.line, problem.message) == (2, "not valid YAML text")


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "file.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(YamlFileError) as caught:
        read_yaml(path, MAX_BYTES, "test file")
    assert caught.value.problem == FileProblem(path, 2, "test file is not UTF-8 text")


def test_syntax_errors_name_the_line(tmp_path: Path, composer: str) -> None:
    problem = _problem(tmp_path, "a: 1\nb: [1,\n")
    assert problem.line == 3
    assert problem.message.startswith("not valid YAML: ")
    problem = _problem(tmp_path, "a: &x 1\nb: &x 2\n")
    assert (problem.line, problem.message) == (
        2,
        "not valid YAML: a duplicate anchor (first on line 1)",
    )


def test_a_secret_file_syntax_error_quotes_nothing(tmp_path: Path, composer: str) -> None:
    problem = _problem(tmp_path, 'user: a\npassword: "hunter\\q2"\n', secret=True)
    assert problem.line == 2
    assert problem.message.startswith("not valid YAML: found unknown escape character")
    assert "q" not in problem.message.replace("quoted", "")  # PyYAML's says 'q'


def test_too_large_a_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "a: " + "x" * 100 + "\n")
    with pytest.raises(YamlFileError, match="test file is larger than 50 bytes"):
        read_yaml(path, 50, "test file")


# --- properties ---------------------------------------------------------------


@PROPERTY
@given(document=DOCUMENTS)
def test_any_file_is_read_or_refused_with_an_input_error(tmp_path: Path, document: bytes) -> None:
    path = written(tmp_path / "any.yaml", document)
    problem: FileProblem | None = None
    try:
        read_yaml(path, MAX_BYTES, "test file")
    except YamlFileError as exc:  # and nothing else: any other exception fails
        problem = exc.problem
    event("read" if problem is None else f"refused: {problem.message[:30]}")
    if problem is not None:
        assert problem.path == path
        assert problem.line >= 1
        assert "\n" not in str(problem)


def _same(data: Any) -> Any:
    """Data to compare: NaN equal to itself, mappings whatever their order."""
    if isinstance(data, float) and math.isnan(data):
        return "nan"
    if isinstance(data, list):
        return [_same(item) for item in data]
    if isinstance(data, dict):
        return sorted(((repr(k), _same(v)) for k, v in data.items()), key=repr)
    return data


@PROPERTY
@given(text=st.one_of(VALUES, BLOCKS))
def test_what_it_reads_is_what_the_safe_loader_reads(tmp_path: Path, text: str) -> None:
    try:
        _, data = parse_yaml(text, tmp_path / "any.yaml")
    except YamlFileError:
        return
    try:
        expected = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - the safe loader
    except (yaml.YAMLError, ValueError):
        return  # "=" and "0x_": PyYAML fails where this reads or names the line
    event("compared")
    assert _same(data) == _same(expected)
