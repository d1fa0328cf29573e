from __future__ import annotations

import json
import os
from dataclasses import fields, is_dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner import result_io
from scanner.cli.options import with_builtin_rules
from scanner.model import FirstSeen, RunHistory, RunPoint, ScanResult, Severity
from scanner.pipeline import scan_nmap_xml
from scanner.rule_engine.loader import load_rules
from scanner.support.errors import InputError
from tests.factories import make_finding, make_result
from tests.properties import PROPERTY, json_values
from tests.scanner.steps import Steps
from tests.support import FIXTURES


def _data() -> dict[str, Any]:
    data = json.loads(result_io.dumps(make_result()))
    assert isinstance(data, dict)
    return data


def test_factory_result_covers_the_model() -> None:
    result = make_result()
    assert len(result.hosts) == 2
    assert all(host.services for host in result.hosts)
    assert len({f.severity for f in result.findings}) >= 3
    assert len(result.probe_errors) == 1
    assert len(result.observations) == 1
    assert result.severity_counts()[Severity.CRITICAL] == 1


def test_dumps_loads_round_trip() -> None:
    result = make_result()
    assert result_io.loads(result_io.dumps(result)) == result


def test_write_read_round_trip(tmp_path: Path) -> None:
    result = make_result()
    path = tmp_path / "scan.json"
    result_io.write(result, path)
    assert result_io.read(path) == result


# --- compact: the history's form, whole or in pieces -------------------------


@lru_cache(maxsize=1)
def _scanned() -> ScanResult:
    """A real audit of an imported nmap XML (grouped CVEs with their
    verdicts, an assessment, a coverage), with a history and text that is not ASCII."""
    dirs = with_builtin_rules(())
    result = scan_nmap_xml(
        FIXTURES / "nmap" / "demo-lab.xml", load_rules(dirs), [str(d) for d in dirs]
    )
    first = result.findings[0]
    unusual = replace(first, title='Zürich \u2014 "quoted" \\ tab\t \U0001f512', port=None)
    history = RunHistory(
        store="/tmp/h.sqlite",
        scope="shop",
        run=3,
        runs=(RunPoint(1, "2026-11-01T00:00:00+00:00", (1, 2, 3, 0, 1)),),
        first_seen=tuple(FirstSeen(f.fingerprint, "2026-11-01") for f in result.findings),
    )
    return replace(result, findings=(*result.findings, unusual), history=history)


@pytest.mark.parametrize("group", [1, 2, 3, 1000])
def test_compact_in_pieces_is_compact_to_the_character(group: int) -> None:
    result = _scanned()
    assert len(result.findings) > 3
    assert result.assessment is not None
    assert result.assessment.plan
    assert any(f.vulnerabilities for f in result.findings)

    text = "".join(result_io.compact_chunks(result, group=group))

    assert text == result_io.compact(result)
    assert result_io.loads(text) == result


def _as_json_writes_it(result: ScanResult) -> str:
    """The indented text as `json` itself writes it: what `dumps` must give."""
    current = replace(result, schema_version=result_io.SCHEMA_VERSION)

    def default(o: object) -> object:
        assert is_dataclass(o)
        assert not isinstance(o, type)
        return {f.name: getattr(o, f.name) for f in fields(o)}

    return json.dumps(current, default=default, indent=2, ensure_ascii=False) + "\n"


def test_dumps_is_json_own_indented_text() -> None:
    result = _scanned()
    assert "".join(result_io.chunks(result)) == _as_json_writes_it(result)
    assert result_io.dumps(make_result()) == _as_json_writes_it(make_result())


def test_chunks_hand_on_long_tuples_a_part_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(result_io, "_PIECES", 50)
    result = _scanned()
    many = tuple(replace(result.findings[0], fingerprint=f"{i:024x}") for i in range(40))
    result = replace(result, findings=many)

    pieces = list(result_io.chunks(result))

    assert "".join(pieces) == _as_json_writes_it(result)
    assert len(pieces) > 20
    assert max(p.count('"rule_id":') for p in pieces) <= 2


def test_compact_pieces_hold_a_group_of_a_long_tuple_at_most() -> None:
    result = _scanned()
    many = tuple(replace(result.findings[0], fingerprint=f"{i:024x}") for i in range(25))
    result = replace(result, findings=many)

    pieces = list(result_io.compact_chunks(result, group=10))

    holding = [p.count('"rule_id":') for p in pieces if '"rule_id":' in p]
    assert max(holding) <= 10
    assert sum(holding) >= 25
    assert len(max(pieces, key=len)) < len(result_io.compact(result)) / 2


def test_compact_pieces_say_how_many_findings_are_encoded() -> None:
    steps = Steps()
    many = tuple(make_finding(fingerprint=f"{i:024x}") for i in range(25))

    list(result_io.compact_chunks(make_result(findings=many), steps, "storing", group=10))

    assert steps.seen == [
        ("storing", 10, 25, "findings"),
        ("storing", 20, 25, "findings"),
        ("storing", 25, 25, "findings"),
    ]


def test_a_result_with_few_findings_says_all_are_encoded_once() -> None:
    steps = Steps()
    list(result_io.compact_chunks(make_result(), steps, "storing"))
    assert steps.seen == [("storing", 4, 4, "findings")]


def test_json_is_plain_data() -> None:
    data = _data()
    assert data["schema_version"] == result_io.SCHEMA_VERSION
    assert data["findings"][0]["severity"] in {s.value for s in Severity}
    assert data["hosts"][0]["services"][0]["cpes"] == [
        "cpe:/a:apache:http_server:2.2.15",
        "cpe:/o:centos:centos",
    ]
    assert data["probe_errors"][0]["port"] == 443


def test_unknown_keys_are_ignored_and_missing_defaults_filled() -> None:
    data = _data()
    data["from_the_future"] = {"x": 1}
    data["hosts"][0]["services"][0]["from_the_future"] = True
    del data["probe_errors"]
    del data["hosts"][0]["extraports"]
    loaded = result_io.loads(json.dumps(data))
    assert loaded.probe_errors == ()
    assert loaded.hosts[0].extraports == ()
    assert loaded.hosts[1] == make_result().hosts[1]


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8"])
def test_every_known_version_is_read_and_written_back_as_the_current_one(version: str) -> None:
    data = _data()
    data["schema_version"] = version
    result = result_io.loads(json.dumps(data))
    assert result.schema_version == result_io.SCHEMA_VERSION
    assert json.loads(result_io.dumps(result))["schema_version"] == result_io.SCHEMA_VERSION


def test_read_versions_end_at_the_current_one() -> None:
    assert result_io.READ_VERSIONS[-1] == result_io.SCHEMA_VERSION


@pytest.mark.parametrize("version", ["1.9", "1.10", "2.0", "17.4"])
def test_a_newer_version_asks_for_an_upgrade(version: str) -> None:
    data = _data()
    data["schema_version"] = version
    with pytest.raises(InputError) as info:
        result_io.loads(json.dumps(data), "new.json")
    assert str(info.value) == (
        f"new.json: scan result schema {version} was written by a newer trustscan; "
        "upgrade trustscan to read it (this one reads 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8)"
    )


@pytest.mark.parametrize(
    ("version", "shown"),
    [
        ("1.2-banana", '"1.2-banana"'),
        ("0.9", '"0.9"'),
        ("1", '"1"'),
        ("01.2", '"01.2"'),
        (" 1.2", '" 1.2"'),
        ("", '""'),
        (1.2, "1.2"),
        (12, "12"),
        (None, "not a string"),
        (["1.2"], "not a string"),
    ],
)
def test_an_unknown_version_is_refused(version: object, shown: str) -> None:
    data = _data()
    data["schema_version"] = version
    with pytest.raises(InputError) as info:
        result_io.loads(json.dumps(data), "odd.json")
    assert str(info.value) == (
        f"odd.json: scan result schema_version {shown} is not supported by this trustscan "
        "(it reads 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8)"
    )


def test_a_hostile_version_label_is_quoted_bounded_and_escaped() -> None:
    data = _data()
    data["schema_version"] = "\x1b[31m\n" + "9" * 5000
    with pytest.raises(InputError) as info:
        result_io.loads(json.dumps(data), "odd.json")
    message = str(info.value)
    assert message.isprintable()
    assert len(message) < 200
    assert '"\\u001b[31m\\n999' in message


def test_an_unknown_label_is_never_written_back(tmp_path: Path) -> None:
    data = _data()
    data["schema_version"] = "1.1"
    source = tmp_path / "old.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    copy = tmp_path / "copy.json"
    result_io.write(result_io.read(source), copy)
    assert json.loads(copy.read_text())["schema_version"] == result_io.SCHEMA_VERSION


def test_missing_schema_version_names_origin() -> None:
    data = _data()
    del data["schema_version"]
    with pytest.raises(InputError, match=r"^old\.json: .*schema_version"):
        result_io.loads(json.dumps(data), "old.json")


@pytest.mark.parametrize("text", ["[]", '"scan"', "null"])
def test_json_that_is_not_an_object(text: str) -> None:
    with pytest.raises(InputError, match=r"^x\.json: .*schema_version"):
        result_io.loads(text, "x.json")


def test_unsupported_major_version_names_origin_and_versions() -> None:
    data = _data()
    data["schema_version"] = "2.0"
    with pytest.raises(InputError) as info:
        result_io.loads(json.dumps(data), "new.json")
    message = str(info.value)
    assert message.startswith("new.json: ")
    assert "2.0" in message
    assert result_io.SCHEMA_VERSION in message


def test_not_json_names_origin_and_line() -> None:
    with pytest.raises(InputError, match=r"^broken\.json:3: not valid JSON \(Expecting"):
        result_io.loads('{\n  "schema_version": "1.0",\n  oops\n}', "broken.json")


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: object) -> None:
    node: Any = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("hosts", 0, "services", 0, "port"), "80", "$.hosts[0].services[0].port"),
        (("hosts", 0, "services", 0, "port"), True, "$.hosts[0].services[0].port"),
        (("hosts", 0, "services", 0, "cpes"), "cpe:/a:x", "$.hosts[0].services[0].cpes"),
        (("findings", 1, "severity"), "severe", "$.findings[1].severity"),
        (("findings", 0, "port"), "443", "$.findings[0].port"),
        (("targets",), [1], "$.targets[0]"),
        (("nmap",), "7.93", "$.nmap"),
        (("tool_version",), 1, "$.tool_version"),
    ],
)
def test_wrong_field_type_names_origin_and_field(
    path: tuple[str | int, ...], value: object, where: str
) -> None:
    data = _data()
    _set(data, path, value)
    with pytest.raises(InputError) as info:
        result_io.loads(json.dumps(data), "scan.json")
    message = str(info.value)
    assert message.startswith("scan.json: invalid scan result: ")
    assert where in message


def test_missing_required_field_is_named() -> None:
    data = _data()
    del data["findings"][0]["fingerprint"]
    with pytest.raises(InputError, match=r"\$\.findings\[0\]: missing 'fingerprint'"):
        result_io.loads(json.dumps(data), "scan.json")


def test_read_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "scan.json"
    with pytest.raises(InputError, match="cannot read scan result") as info:
        result_io.read(missing)
    assert str(missing) in str(info.value)


def test_read_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "scan.json"
    path.write_text('{"tool_version": "0.1.0"}', encoding="utf-8")
    with pytest.raises(InputError, match="schema_version") as info:
        result_io.read(path)
    assert str(info.value).startswith(f"{path}: ")


def test_read_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "scan.json"
    path.write_bytes(b'{"schema_version": "1.0", "x": "\xff"}')
    with pytest.raises(InputError, match="not UTF-8"):
        result_io.read(path)


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "scan.json"
    result_io.write(make_result(), path)
    result_io.write(make_result(tool_version="0.2.0"), path)
    assert [p.name for p in tmp_path.iterdir()] == ["scan.json"]
    assert result_io.read(path).tool_version == "0.2.0"


def test_failed_write_keeps_the_old_file_and_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scan.json"
    result_io.write(make_result(), path)
    before = path.read_bytes()

    def broken_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        result_io.write(make_result(tool_version="0.2.0"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["scan.json"]


# --- Hostile JSON: an InputError with file and line, never another exception -


def _with_port(literal: str) -> str:
    """The factory result, pretty-printed, with the first service's port spelt `literal`."""
    text = result_io.dumps(make_result())
    return text.replace('"port": 80,', f'"port": {literal},', 1)


def _port_line() -> int:
    text = result_io.dumps(make_result())
    return text[: text.index('"port": 80,')].count("\n") + 1


@pytest.mark.parametrize(
    ("literal", "says"),
    [
        ("9" * 400, "the integer 999999999999...9999 (400 characters) is out of range"),
        ("-" + "9" * 5000, "the integer -99999999999...9999 (5001 characters) is out of range"),
        ("9223372036854775808", "the integer 9223372036854775808 is out of range"),
        ("1e400", "the number 1e400 is out of range"),
        ("-1E+99999", "the number -1E+99999 is out of range"),
        ("NaN", "NaN is not a JSON number"),
        ("Infinity", "Infinity is not a JSON number"),
        ("-Infinity", "-Infinity is not a JSON number"),
    ],
)
def test_numbers_out_of_range_name_file_and_line(literal: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        result_io.loads(_with_port(literal), "scan.json")
    assert str(info.value).startswith(f"scan.json:{_port_line()}: {says}")


def test_a_float_where_an_integer_belongs_is_a_field_error() -> None:
    with pytest.raises(InputError, match=r"\$\.hosts\[0\]\.services\[0\]\.port: expected an int"):
        result_io.loads(_with_port("80.0"), "scan.json")


@pytest.mark.parametrize("opening", ["[", '{"a": '])
def test_deep_nesting_is_refused(opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = opening * 100_000 + "1" + closing * 100_000
    with pytest.raises(InputError, match=r"^deep\.json:1: arrays and objects nested more than 64"):
        result_io.loads(text, "deep.json")


def test_deep_nesting_under_an_unknown_key_is_refused() -> None:
    # Unknown keys are ignored by the decoder: the reader must catch it.
    text = result_io.dumps(make_result()).replace(
        "{\n", '{\n  "x": ' + "[" * 70 + "]" * 70 + ",\n", 1
    )
    with pytest.raises(InputError, match=r"^deep\.json:2: arrays and objects nested more than 64"):
        result_io.loads(text, "deep.json")


def test_a_lone_surrogate_is_refused() -> None:
    text = result_io.dumps(make_result())
    text = text.replace('"tool_version": "', '"tool_version": "\\udc80', 1)
    line = text[: text.index("\\udc80")].count("\n") + 1
    with pytest.raises(InputError, match=rf"^s\.json:{line}: a string holds a lone surrogate"):
        result_io.loads(text, "s.json")


def test_hostile_file_is_refused_by_read(tmp_path: Path) -> None:
    path = tmp_path / "scan.json"
    path.write_text(_with_port("9" * 5000), encoding="utf-8")
    with pytest.raises(InputError) as info:
        result_io.read(path)
    assert str(info.value).startswith(f"{path}:{_port_line()}: the integer")


def test_a_huge_value_in_a_field_error_is_quoted_bounded() -> None:
    data = _data()
    data["findings"][0]["severity"] = "x" * 1_000_000
    with pytest.raises(InputError) as info:
        result_io.loads(json.dumps(data), "scan.json")
    assert len(str(info.value)) < 300
    assert "$.findings[0].severity: 'xxxxxxxx" in str(info.value)


# --- Properties: anything loads as a ScanResult or is an InputError ----------

_JSON = json_values()
_LABELS = st.one_of(
    st.sampled_from(["1.0", "1.1", "1.2", "1.3", "2.0", "0.1", "1.2-banana", "1.02", "1.2 ", ""]),
    st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True),
    st.text(max_size=10),
    json_values(leaves=1),
)
_LITERALS = st.one_of(
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "0.0"]),
    st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n),
    st.integers(min_value=-(2**64), max_value=2**64).map(str),
    st.tuples(st.sampled_from("[{"), st.integers(min_value=1, max_value=120_000)).map(
        lambda pair: pair[0] * pair[1] + ("]" if pair[0] == "[" else "}") * pair[1]
    ),
    _JSON.map(lambda value: json.dumps(value, allow_nan=True)),
)


def _outcome(text: str) -> ScanResult | InputError:
    try:
        return result_io.loads(text, "prop.json")
    except InputError as exc:  # anything else fails the test
        return exc


def _check(outcome: ScanResult | InputError) -> None:
    if isinstance(outcome, InputError):
        assert str(outcome).startswith("prop.json")
        assert "\n" not in str(outcome)
        assert len(str(outcome)) < 1000
        return
    assert outcome.schema_version == result_io.SCHEMA_VERSION
    # What loads can be written (as UTF-8) and read back the same, as `json` writes it.
    text = result_io.dumps(outcome)
    text.encode("utf-8")
    assert result_io.loads(text) == outcome
    assert text == _as_json_writes_it(outcome)
    # ... and stored in the history alike, whole or a tuple's item at a time.
    assert "".join(result_io.compact_chunks(outcome, group=1)) == result_io.compact(outcome)


@PROPERTY
@given(_JSON)
def test_property_any_json_value(value: object) -> None:
    _check(_outcome(json.dumps(value, allow_nan=True)))


@PROPERTY
@given(st.text(max_size=300))
def test_property_any_text(text: str) -> None:
    _check(_outcome(text))


@PROPERTY
@given(_LABELS)
def test_property_schema_label(label: object) -> None:
    data = _data()
    data["schema_version"] = label
    outcome = _outcome(json.dumps(data, allow_nan=True))
    _check(outcome)
    assert isinstance(outcome, ScanResult) == (label in result_io.READ_VERSIONS)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


_RESULT_PATHS = _paths(json.loads(result_io.dumps(make_result())))[1:]


@PROPERTY
@given(
    st.lists(st.tuples(st.sampled_from(_RESULT_PATHS), _LITERALS), min_size=1, max_size=3),
    st.sampled_from(["replace", "delete"]),
)
def test_property_mutated_result(
    changes: list[tuple[tuple[str | int, ...], str]], how: str
) -> None:
    data = _data()
    marks: dict[str, str] = {}
    for number, (path, literal) in enumerate(changes):
        node: Any = data
        try:
            for step in path[:-1]:
                node = node[step]
            if how == "delete" and number == 0:
                del node[path[-1]]
                continue
            mark = f"@@{number}@@"
            node[path[-1]] = mark
            marks[json.dumps(mark)] = literal
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the path
    text = json.dumps(data, indent=2)
    for mark, literal in marks.items():
        text = text.replace(mark, literal)
    _check(_outcome(text))


@PROPERTY
@given(st.integers(min_value=0, max_value=10_000), st.binary(max_size=4))
def test_property_damaged_result(cut: int, spliced: bytes) -> None:
    text = result_io.dumps(make_result())
    at = cut % (len(text) + 1)
    damaged = text[:at] + spliced.decode("latin-1") + text[at + len(spliced) :]
    _check(_outcome(damaged))
