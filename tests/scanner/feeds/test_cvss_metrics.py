"""Real CVSS or none: where the importers take a CVSS score from, and that
none is invented where a record has none.

The CVE JSON 5 records here are small synthetic ones, built after the CVE
Record Format 5.x schema (`containers.cna.metrics` items holding `cvssV4_0`,
`cvssV3_1`, `cvssV3_0` or `cvssV2_0` with a `vectorString`, and `containers.adp[]`
with `providerMetadata.shortName`), with a fictitious CVE-2099 id: the Apache
records of the shared data carry no CVSS at all to test them with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.feeds import apache_cve, cvss, osv
from scanner.feeds.importer import import_feeds
from scanner.feeds.rule_writer import to_rule
from scanner.model import Severity
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import evaluate
from tests.factories import make_host, make_service
from tests.support import FIXTURES, REPO

APACHE = REPO.parent / "shared" / "data" / "apache-httpd-cve"
needs_apache = pytest.mark.skipif(
    not APACHE.is_dir(), reason=f"the Apache httpd CVE records are not at {APACHE}"
)

V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"  # 7.5
V31_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
V30 = "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"  # 3.7
V40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"  # 9.3
V2 = "AV:N/AC:L/Au:N/C:P/I:P/A:P"  # 7.5 in v2


def _cvss_metric(key: str, vector: str, score: float) -> dict[str, Any]:
    version = {"cvssV4_0": "4.0", "cvssV3_1": "3.1", "cvssV3_0": "3.0", "cvssV2_0": "2.0"}[key]
    return {
        "format": "CVSS",
        "scenarios": [{"lang": "en", "value": "GENERAL"}],
        key: {"version": version, "vectorString": vector, "baseScore": score},
    }


def _word(text: str) -> dict[str, Any]:
    return {"other": {"type": "Textual description of severity", "content": {"text": text}}}


def _record(
    cna_metrics: list[dict[str, Any]], adp: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A CVE JSON 5.1 record of Apache httpd 2.4.0 to 2.4.58, as the project writes them."""
    containers: dict[str, Any] = {
        "cna": {
            "providerMetadata": {"orgId": "f0158376-9dc2-43b6-827c-5f631a4d8d09"},
            "affected": [
                {
                    "vendor": "Apache Software Foundation",
                    "product": "Apache HTTP Server",
                    "defaultStatus": "unaffected",
                    "versions": [
                        {
                            "version": "2.4.0",
                            "status": "affected",
                            "lessThanOrEqual": "2.4.58",
                            "versionType": "semver",
                        }
                    ],
                }
            ],
            "descriptions": [{"lang": "en", "value": "A synthetic flaw for trustscan's tests."}],
            "metrics": cna_metrics,
            "problemTypes": [{"descriptions": [{"lang": "en", "description": "CWE-20 Input"}]}],
            "references": [{"url": "https://httpd.apache.org/security/vulnerabilities_24.html"}],
            "timeline": [{"lang": "en", "time": "2099-01-02", "value": "2.4.59 released"}],
        }
    }
    if adp is not None:
        containers["adp"] = adp
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {
            "cveId": "CVE-2099-1001",
            "state": "PUBLISHED",
            "datePublished": "2099-01-03T00:00:00.000Z",
        },
        "containers": containers,
    }


def _cisa_adp(*metrics: dict[str, Any], short_name: str = "CISA-ADP") -> dict[str, Any]:
    return {
        "providerMetadata": {
            "orgId": "134c704f-9b21-4f2e-91b3-4a467353bcc0",
            "shortName": short_name,
        },
        "title": "CISA ADP Vulnrichment",
        "metrics": [
            {"other": {"type": "ssvc", "content": {"options": [{"Exploitation": "none"}]}}},
            *metrics,
        ],
    }


def test_a_cna_cvss_v3_1_score_is_taken_from_its_vector() -> None:
    # The record's own baseScore is wrong on purpose: the vector decides.
    (advisory,) = apache_cve.parse(_record([_cvss_metric("cvssV3_1", V31, 5.0)]))
    assert (advisory.cvss_score, advisory.cvss_vector) == (7.5, V31)
    assert advisory.severity is Severity.HIGH
    assert advisory.source == apache_cve.SOURCE


def test_the_newest_cvss_version_of_the_cna_wins_in_any_order() -> None:
    metrics = [
        _cvss_metric("cvssV2_0", V2, 7.5),
        _cvss_metric("cvssV3_0", V30, 3.7),
        _cvss_metric("cvssV4_0", V40, 9.3),
        _cvss_metric("cvssV3_1", V31, 7.5),
    ]
    for order in (metrics, metrics[::-1]):
        (advisory,) = apache_cve.parse(_record(order))
        assert (advisory.cvss_score, advisory.cvss_vector) == (9.3, V40)
        assert advisory.severity is Severity.CRITICAL


def test_the_projects_own_score_decides_over_its_word() -> None:
    (advisory,) = apache_cve.parse(_record([_word("low"), _cvss_metric("cvssV3_0", V30, 3.7)]))
    assert advisory.cvss_score == 3.7
    assert advisory.severity is Severity.LOW
    assert advisory.vendor_severity == "low"


def test_cisa_adp_cvss_is_used_when_the_cna_has_none() -> None:
    record = _record([_word("moderate")], [_cisa_adp(_cvss_metric("cvssV3_1", V31_CRITICAL, 9.8))])
    (advisory,) = apache_cve.parse(record)
    assert (advisory.cvss_score, advisory.cvss_vector) == (9.8, V31_CRITICAL)
    # The project's word rates it; CISA's score is shown, and said to be CISA's.
    assert advisory.severity is Severity.MEDIUM
    assert advisory.source == apache_cve.ADP_SOURCE
    rule = to_rule(advisory)
    assert rule["vulnerability"]["cvss"] == {"score": 9.8, "vector": V31_CRITICAL}
    assert "CISA's ADP container" in rule["description"]
    assert "Its CVSS 3.1 base score is 9.8." in rule["description"]


def test_cisa_adp_cvss_rates_a_record_the_project_did_not_rate() -> None:
    record = _record([], [_cisa_adp(_cvss_metric("cvssV3_1", V31, 7.5))])
    (advisory,) = apache_cve.parse(record)
    assert advisory.severity is Severity.HIGH
    assert advisory.cvss_score == 7.5


def test_the_cnas_score_wins_over_cisas_and_other_adps_are_not_cisa() -> None:
    both = _record(
        [_cvss_metric("cvssV3_0", V30, 3.7)],
        [_cisa_adp(_cvss_metric("cvssV3_1", V31_CRITICAL, 9.8))],
    )
    (advisory,) = apache_cve.parse(both)
    assert (advisory.cvss_score, advisory.source) == (3.7, apache_cve.SOURCE)
    other = _record(
        [_word("important")],
        [_cisa_adp(_cvss_metric("cvssV3_1", V31_CRITICAL, 9.8), short_name="CVE")],
    )
    (advisory,) = apache_cve.parse(other)
    assert advisory.cvss_score is None
    assert advisory.severity is Severity.HIGH


def test_a_cve_json_4_record_with_an_impact_cvss() -> None:
    v4 = {
        "data_type": "CVE",
        "data_format": "MITRE",
        "data_version": "4.0",
        "CVE_data_meta": {"ID": "CVE-2099-1002", "ASSIGNER": "security@apache.org"},
        "affects": {
            "vendor": {
                "vendor_data": [
                    {
                        "vendor_name": "Apache Software Foundation",
                        "product": {
                            "product_data": [
                                {
                                    "product_name": "Apache HTTP Server",
                                    "version": {
                                        "version_data": [
                                            {"version_affected": "=", "version_value": "2.4.49"}
                                        ]
                                    },
                                }
                            ]
                        },
                    }
                ]
            }
        },
        "impact": {"cvss": {"version": "3.1", "vectorString": V31_CRITICAL, "baseScore": 9.8}},
    }
    (advisory,) = apache_cve.parse(v4)
    assert (advisory.cvss_score, advisory.severity) == (9.8, Severity.CRITICAL)


@needs_apache
def test_no_cvss_is_invented_for_the_apache_records() -> None:
    """The project's 244 records hold no CVSS: every advisory says so (None),
    and CVE-2021-41773 keeps the project's own word."""
    advisories = [
        a
        for path in sorted(APACHE.glob("*.json"))
        for a in apache_cve.parse(json.loads(path.read_text()))
    ]
    assert len(advisories) >= 240
    assert all(a.cvss_score is None and a.cvss_vector == "" for a in advisories)
    assert {a.source for a in advisories} == {apache_cve.SOURCE}
    (path_traversal,) = [a for a in advisories if a.id == "CVE-2021-41773"]
    assert path_traversal.vendor_severity == "critical"
    assert "cvss" not in to_rule(path_traversal)["vulnerability"]


# --- OSV ---------------------------------------------------------------------


def _osv(*severity: dict[str, str], **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((FIXTURES / "feeds" / "osv-sample.json").read_text())
    record["severity"] = list(severity)
    record.update(changes)
    return record


def test_osv_takes_the_newest_cvss_version_in_any_order() -> None:
    items = [{"type": "CVSS_V4", "score": V40}, {"type": "CVSS_V3", "score": V30}]
    for order in (items, items[::-1]):
        (advisory,) = osv.parse(_osv(*order))
        assert advisory.cvss_vector == V40


def test_an_osv_package_severity_overrides_the_records() -> None:
    record = _osv({"type": "CVSS_V3", "score": V31_CRITICAL})
    record["affected"][0]["severity"] = [{"type": "CVSS_V3", "score": V30}]
    (advisory,) = osv.parse(record)
    assert (advisory.cvss_score, advisory.severity) == (3.7, Severity.LOW)


def test_an_osv_v2_only_record_imports_a_rule_that_lints(tmp_path: Path) -> None:
    """A v2 vector has no `CVSS:` prefix, which the rule schema requires: the
    rule keeps no CVSS, says in its description what v2 score was dropped,
    and is rated on v2's scale (no "critical")."""
    feed = tmp_path / "v2.json"
    feed.write_text(json.dumps(_osv({"type": "CVSS_V2", "score": V2})), encoding="utf-8")
    report = import_feeds([feed], tmp_path / "out", None)
    assert report.refused == []
    assert (report.files_written, report.rules_written) == (1, 1)
    (rule,) = load_rules([tmp_path / "out"])
    assert rule.severity is Severity.HIGH
    assert rule.vulnerability is not None
    assert rule.vulnerability.cvss_score is None
    assert f"only in CVSS v2 (7.5, {V2})" in rule.description
    host = make_host(services=(make_service(product="nginx", version="1.22.1"),))
    (finding,) = evaluate([host], [], [rule])
    assert finding.vulnerabilities[0].cvss_score is None


def test_a_v2_vector_with_a_database_word_keeps_the_word() -> None:
    record = _osv({"type": "CVSS_V2", "score": V2}, database_specific={"severity": "LOW"})
    (advisory,) = osv.parse(record)
    assert advisory.severity is Severity.LOW


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        (V31, ("3.1", 7.5, Severity.HIGH)),
        (V40, ("4.0", 9.3, Severity.CRITICAL)),
        (V2, ("2.0", 7.5, Severity.HIGH)),
        ("AV:N/AC:L/Au:N/C:C/I:C/A:C", ("2.0", 10.0, Severity.HIGH)),  # no "critical" in v2
        ("(AV:N/AC:L/Au:N/C:N/I:N/A:P)", ("2.0", 5.0, Severity.MEDIUM)),
    ],
)
def test_cvss_versions_and_their_scales(vector: str, expected: tuple[str, float, Severity]) -> None:
    parsed = cvss.parse(vector)
    assert parsed is not None
    assert (parsed.version, parsed.score, cvss.severity(parsed)) == expected


@pytest.mark.parametrize("vector", ["", "CVSS:3.1/AV:X", "AV:N/AC:L", "9.8", "CVSS:2.0/AV:N/AC:L"])
def test_what_is_no_cvss_vector(vector: str) -> None:
    assert cvss.parse(vector) is None
