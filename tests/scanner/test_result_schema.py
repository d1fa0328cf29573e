"""The committed JSON Schema of the scan result matches the model and the results we write."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from scanner.pipeline import scan_nmap_xml
from scanner.result_io import SCHEMA_VERSION, dumps
from scanner.result_schema import SCHEMA_ID, build_schema, render_schema
from scanner.rule_engine.loader import load_rules
from scanner.support.resources import builtin_rules_dir, result_schema_path
from tests.factories import make_assessment, make_finding, make_result
from tests.support import FIXTURES, REPO

_REGENERATE = "python -m scanner.result_schema > reports/scan-result.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(result_schema_path().read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    result = scan_nmap_xml(
        FIXTURES / "nmap" / "demo-lab.xml", load_rules([builtin_rules_dir()]), ["builtin"]
    )
    assert result.findings, "the recorded lab scan should find something"
    data: dict[str, Any] = json.loads(dumps(result))
    return data


def _errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [error.message for error in validator.iter_errors(data)]


def test_committed_schema_is_the_generated_one() -> None:
    committed = result_schema_path().read_text(encoding="utf-8")
    assert committed == render_schema(), f"the schema is stale: run {_REGENERATE}"
    assert result_schema_path() == REPO / "reports" / "scan-result.schema.json"


def test_module_prints_the_schema() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "scanner.result_schema"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == render_schema()


def test_schema_header_documents_the_format(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID == "https://trustscan.invalid/schemas/scan-result.json"
    assert schema["title"]
    assert SCHEMA_VERSION in schema["description"]
    assert SCHEMA_VERSION in schema["properties"]["schema_version"]["description"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == [
        "schema_version",
        "tool_version",
        "started",
        "finished",
        "targets",
        "nmap",
    ]


def test_schema_follows_the_type_hints() -> None:
    schema = build_schema()
    defs = schema["$defs"]
    assert defs["Severity"]["enum"] == ["info", "low", "medium", "high", "critical"]
    assert defs["Confidence"]["enum"] == ["confirmed", "high", "medium", "low"]
    finding = defs["Finding"]
    assert finding["additionalProperties"] is False
    assert "category" not in finding["required"]
    assert "trust" in finding["required"]
    props = finding["properties"]
    assert props["severity"] == {"$ref": "#/$defs/Severity"}
    assert props["port"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert props["evidence"] == {"type": "array", "items": {"type": "string"}}
    assert props["vulnerabilities"]["items"] == {"$ref": "#/$defs/Vulnerability"}
    cvss = defs["Vulnerability"]["properties"]["cvss_score"]
    assert cvss["anyOf"] == [{"type": "number"}, {"type": "null"}]


def test_factory_result_validates(validator: jsonschema.Draft202012Validator) -> None:
    assert _errors(validator, json.loads(dumps(make_result()))) == []


def test_an_assessed_result_validates(validator: jsonschema.Draft202012Validator) -> None:
    """Scores, plan and the customer-trust summary (duties, cost, notices)."""
    result = replace(make_result(), assessment=make_assessment(), rule_set="3 rules in 1 files")
    data = json.loads(dumps(result))
    assert data["assessment"]["trust"]["duties"][0]["kind"] == "gdpr-art-33"
    assert _errors(validator, data) == []


def test_recorded_scan_validates(
    validator: jsonschema.Draft202012Validator, recorded: dict[str, Any]
) -> None:
    assert _errors(validator, recorded) == []


def test_unknown_field_does_not_validate(
    validator: jsonschema.Draft202012Validator, recorded: dict[str, Any]
) -> None:
    top = {**recorded, "surprise": 1}
    assert any("surprise" in message for message in _errors(validator, top))
    finding = {**recorded["findings"][0], "surprise": 1}
    nested = {**recorded, "findings": [finding]}
    assert any("surprise" in message for message in _errors(validator, nested))


def test_wrong_enum_value_does_not_validate(validator: jsonschema.Draft202012Validator) -> None:
    data = json.loads(dumps(make_result(findings=(make_finding(),))))
    data["findings"][0]["severity"] = "severe"
    assert any("'severe' is not one of" in message for message in _errors(validator, data))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("nmap"), "'nmap' is a required property"),
        (lambda d: d.update(schema_version="2.0"), "does not match"),
        (lambda d: d["hosts"][0]["services"][0].update(port="80"), "'80' is not of type"),
        (lambda d: d["findings"][0].update(port=None), None),
    ],
)
def test_other_changes(
    validator: jsonschema.Draft202012Validator,
    change: Any,
    expected: str | None,
) -> None:
    data = json.loads(dumps(make_result()))
    change(data)
    errors = _errors(validator, data)
    if expected is None:
        assert errors == []
    else:
        assert any(expected in message for message in errors), errors
