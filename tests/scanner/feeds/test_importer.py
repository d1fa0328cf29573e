"""`trustscan rules import`: feeds in, rule files out, and the rules do what the feed says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.feeds import apache_cve, osv
from scanner.feeds.importer import import_feeds
from scanner.model import Severity
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import evaluate
from scanner.support.errors import InputError
from tests.factories import make_host, make_service
from tests.support import FIXTURES, REPO

SHARED = REPO.parent / "shared" / "data"
APACHE = SHARED / "apache-httpd-cve"
needs_shared = pytest.mark.skipif(
    not APACHE.is_dir(), reason=f"shared data not present at {SHARED}"
)


def test_osv_ranges_versions_and_cvss() -> None:
    record = json.loads((FIXTURES / "feeds" / "osv-sample.json").read_text())
    (advisory,) = osv.parse(record)  # the PyPI package is no trustscan product
    assert advisory.id == "CVE-2099-0001"
    assert advisory.aliases == ("TRUSTSCAN-TEST-2026-0001",)
    assert advisory.product == "nginx"
    assert advisory.specifiers == (">=1.20.0,<1.22.2", ">=1.24.0,<=1.24.3", "==1.19.9")
    assert advisory.cvss_score == 9.8
    assert advisory.severity is Severity.CRITICAL
    assert advisory.fixed_in == ("1.22.2",)
    assert advisory.published == "2026-01-15"
    assert advisory.references[0] == "https://example.invalid/advisory/0001"


def test_osv_import_writes_rules_that_match_the_ranges(tmp_path: Path) -> None:
    report = import_feeds([FIXTURES / "feeds" / "osv-sample.json"], tmp_path, None)
    assert (report.files_written, report.rules_written) == (1, 1)
    rules = load_rules([tmp_path])
    for version, expected in [
        ("1.19.9", True),
        ("1.20.0", True),
        ("1.22.1", True),
        ("1.22.2", False),
        ("1.24.3", True),
        ("1.24.4", False),
    ]:
        host = make_host(services=(make_service(product="nginx", version=version),))
        (finding,) = evaluate([host], [], rules) or (None,)
        assert (finding is not None) == expected, version
        if finding is not None:
            assert [v.id for v in finding.vulnerabilities] == ["CVE-2099-0001"]
            assert finding.vulnerabilities[0].cvss_score == 9.8
            assert finding.severity is Severity.CRITICAL


@needs_shared
def test_apache_v4_record_with_exact_versions() -> None:
    record = json.loads((APACHE / "CVE-2021-41773.json").read_text())
    (advisory,) = apache_cve.parse(record)
    assert advisory.specifiers == ("==2.4.49",)
    assert advisory.severity is Severity.CRITICAL
    assert advisory.fixed_in == ("2.4.50",)


@needs_shared
def test_apache_v4_record_with_bounds() -> None:
    record = json.loads((APACHE / "CVE-2021-33193.json").read_text())
    (advisory,) = apache_cve.parse(record)
    assert advisory.specifiers == (">=2.4.17,<=2.4.48",)


@needs_shared
def test_apache_v5_record() -> None:
    record = json.loads((APACHE / "CVE-2023-38709.json").read_text())
    (advisory,) = apache_cve.parse(record)
    assert advisory.specifiers == ("<=2.4.58",)
    assert advisory.severity is Severity.MEDIUM  # the project's "moderate"
    assert advisory.fixed_in == ("2.4.59",)


def test_a_file_that_is_no_feed_is_one_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"hello": "world"}', encoding="utf-8")
    with pytest.raises(InputError, match=r"bogus\.json: not a feed"):
        import_feeds([bogus], tmp_path / "out", None)


def test_an_unknown_product_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--product 'nginxx'"):
        import_feeds([FIXTURES / "feeds" / "osv-sample.json"], tmp_path, "nginxx")
