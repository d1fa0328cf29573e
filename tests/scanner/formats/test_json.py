"""The JSON result: the golden file, the schema, hostile text.

fixtures/golden/result.json is `make_result()` with `make_assessment()`
rendered; after an intended change to the model rewrite it with
`TRUSTSCAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/scanner/formats`.
"""

from __future__ import annotations

import json
from dataclasses import replace

import jsonschema

from scanner.formats import OutputFormat, formatter_for
from scanner.model import ScanResult
from scanner.result_io import loads
from scanner.support.resources import result_schema_path
from tests.factories import make_assessment, make_result
from tests.scanner.formats.support import HOSTILE, assert_golden, hostile_result


def _assessed() -> ScanResult:
    return replace(make_result(), assessment=make_assessment(), rule_set="3 rules in 1 files")


def _render(result: ScanResult) -> str:
    return formatter_for(OutputFormat.JSON).format(result)


def test_golden() -> None:
    assert_golden("result.json", _render(_assessed()))


def test_it_validates_and_reads_back() -> None:
    text = _render(_assessed())
    schema = json.loads(result_schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(json.loads(text))
    assert loads(text) == _assessed()


def test_hostile_text_is_a_json_string() -> None:
    text = _render(hostile_result())
    # Control characters are \\u-escaped; markup is data in a string, and reads back whole.
    assert "\x00" not in text
    assert "\x1b" not in text
    assert "\\u0000" in text
    assert loads(text).findings[0].description == HOSTILE


def test_a_large_result_says_how_many_records_are_written() -> None:
    from scanner.formats.json import JsonFormatter
    from tests.scanner.formats.many_findings import many_findings
    from tests.scanner.steps import Steps

    result = many_findings(3_000)
    steps = Steps()
    text = "".join(JsonFormatter(steps, "writing r.json").chunks(result))
    assert text == _render(result)
    told = steps.of("writing r.json")
    # The result's lists: its hosts, findings, targets, rule sources, ...
    records = sum(len(v) for v in vars(result).values() if isinstance(v, tuple))
    assert records > len(result.findings) == 3_000
    assert len(told) > 2  # as it goes, not only at the end
    assert [done for done, _, _ in told] == sorted(done for done, _, _ in told)
    assert told[-1] == (records, records, "records")
