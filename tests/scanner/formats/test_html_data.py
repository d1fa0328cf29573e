"""The findings as data in the report page: every finding once, in the
report's order, in the fields the script reads by position; escaped so that
nothing in it can end its element; compressed above a size, and written as a
stream with its progress said."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from dataclasses import replace

from scanner.assessment.risk import assessed
from scanner.formats.html import HtmlFormatter
from scanner.formats.html_data import COMPRESS_ABOVE, FIELDS, embedded, gzip_base64, json_pieces
from scanner.formats.html_findings import FindingList
from scanner.model import Acceptance, BaselineState
from scanner.support.resources import reports_dir
from tests.factories import make_finding, make_result
from tests.scanner.formats.many_findings import many_findings
from tests.scanner.formats.page_data import embedded_data
from tests.scanner.formats.support import SCRIPT, hostile_result


def _fields(record: list[object]) -> dict[str, object]:
    return dict(zip(FIELDS, record, strict=True))


def test_the_script_reads_the_fields_where_the_data_puts_them() -> None:
    script = (reports_dir() / "report.js").read_text(encoding="utf-8")
    found = re.search(r"const F = \{(.*?)\};", script, re.S)
    assert found is not None
    positions = [int(n) for n in re.findall(r"\w+: (\d+)", found.group(1))]
    assert positions == list(range(len(FIELDS)))


def test_every_finding_once_in_the_report_order_with_its_texts_shared() -> None:
    result = many_findings(400)
    data = embedded_data(HtmlFormatter().format(result))
    findings = FindingList(result)
    assert data["count"] == len(data["findings"]) == 400
    assert [r[0] for r in data["findings"]] == [f.fingerprint for f in findings.ordered]
    assert data["assessed"] is True
    # 40 rules: 40 texts; every fifth rule has one list of vulnerabilities.
    assert len(data["texts"]) == 40
    assert len(data["vulns"]) == 8
    first = findings.ordered[0]
    row = _fields(data["findings"][0])
    text = data["texts"][row["rule text (index into texts)"]]
    assert text[1:4] == [first.rule_id, first.title, first.description]
    assert row["where (host:port/protocol)"] == f"{first.host}:{first.port}/tcp"
    assert row["evidence (one line an item)"] == "\n".join(first.evidence)
    assert row["severity rank"] == first.severity.rank
    risks = {r.fingerprint: r.score for r in result.assessment.findings}  # type: ignore[union-attr]
    assert row["risk (null: not scored)"] == risks[first.fingerprint]


def test_a_findings_marks_and_states_are_in_its_fields() -> None:
    accepted = Acceptance(
        owner="ops@example.test",
        reason="isolated VLAN",
        expires="2099-01-01",
        source="accepted.yaml:3",
        expired=False,
    )
    result = make_result(
        findings=(make_finding(baseline=BaselineState.NEW, accepted=accepted, notes=("a note",)),)
    )
    data = embedded_data(HtmlFormatter().format(result))
    row = _fields(data["findings"][0])
    assert row["state against the baseline ('' when not compared)"] == "new"
    assert row["acceptance (0 none, 1 accepted, 2 expired)"] == 1
    assert "accepted by ops@example.test until 2099-01-01" in str(row["acceptance in words"])
    assert row["notes"] == ["a note"]
    assert row["risk (null: not scored)"] is None
    assert data["assessed"] is False


def test_hostile_values_are_data_and_cannot_end_the_element() -> None:
    page = HtmlFormatter().format(hostile_result())
    block = re.search(r'<script id="fdata"[^>]*>(.*?)</script>', page, re.S)
    assert block is not None
    assert not set(block.group(1)) & set("<>&")
    assert "\\u003cscript\\u003e" in block.group(1)
    data = embedded_data(page)
    assert SCRIPT in json.dumps(data)
    # Control characters are shown as their escapes, as everywhere in the page.
    assert "\x1b" not in json.dumps(data, ensure_ascii=False)


def test_small_results_are_plain_json_and_larger_ones_compressed() -> None:
    small = HtmlFormatter().format(many_findings(COMPRESS_ABOVE))
    assert '<script id="fdata" type="application/json" data-encoding="json">' in small
    large = HtmlFormatter().format(many_findings(COMPRESS_ABOVE + 1))
    assert '<script id="fdata" type="application/gzip" data-encoding="gzip">' in large
    assert len(embedded_data(large)["findings"]) == COMPRESS_ABOVE + 1


def test_compression_streams_the_same_bytes_as_compressing_at_once() -> None:
    # Hex digests compress to about half: several lines of output.
    pieces = [
        json.dumps({"n": i, "h": hashlib.sha256(str(i).encode()).hexdigest()}) for i in range(5_000)
    ]
    lines = list(gzip_base64(iter(pieces)))
    assert len(lines) > 2  # written as it goes, not at the end
    assert all(len(line) <= 76_001 for line in lines)
    raw = gzip.decompress(base64.b64decode("".join(lines)))
    assert raw.decode("utf-8") == "".join(pieces)


def test_the_document_is_written_in_pieces_and_says_how_far_it_is() -> None:
    result = many_findings(1_200)
    findings = FindingList(result)
    told: list[int] = []
    pieces = list(json_pieces(findings, {}, told.append))
    assert len(pieces) >= 4  # the head, three pieces of findings, the end
    assert told == [500, 1_000, 1_200]
    assert len(json.loads("".join(pieces))["findings"]) == 1_200
    encoding, text = embedded(findings, {})
    assert encoding == "gzip"
    assert not isinstance(text, str | list)  # an iterator: made as it is written


def test_the_report_says_how_many_findings_it_has_written() -> None:
    steps: list[tuple[str, int, int, str]] = []

    class Recorder:
        def step(self, what: str, done: int, total: int, unit: str = "") -> None:
            steps.append((what, done, total, unit))

    HtmlFormatter(Recorder(), "writing r.html").format(many_findings(1_200))
    assert steps[-1] == ("writing r.html", 1_200, 1_200, "findings")
    assert [s[1] for s in steps] == [500, 1_000, 1_200]


def test_an_unassessed_result_with_no_findings_has_no_data_block() -> None:
    page = HtmlFormatter().format(make_result(findings=()))
    assert 'id="fdata"' not in page
    assert 'id="frows"' not in page


def test_reassessing_changes_the_risks_in_the_data() -> None:
    result = make_result()
    plain = embedded_data(HtmlFormatter().format(result))
    scored = embedded_data(HtmlFormatter().format(assessed(replace(result))))
    assert all(_fields(r)["risk (null: not scored)"] is None for r in plain["findings"])
    assert all(isinstance(_fields(r)["risk (null: not scored)"], float) for r in scored["findings"])
