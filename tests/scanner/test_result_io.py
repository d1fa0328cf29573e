from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from scanner import result_io
from scanner.model import Severity
from scanner.support.errors import InputError
from tests.factories import make_result


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


def test_minor_version_bump_is_read() -> None:
    data = _data()
    data["schema_version"] = "1.7"
    assert result_io.loads(json.dumps(data)).schema_version == "1.7"


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
    with pytest.raises(InputError, match=r"^broken\.json:3: not a JSON scan result"):
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
