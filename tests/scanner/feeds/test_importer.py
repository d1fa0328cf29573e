"""`trustscan rules import`: feeds in, rule files out, and the rules do what the feed says."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.feeds import apache_cve, osv
from scanner.feeds.importer import ImportReport, import_feeds
from scanner.model import Severity
from scanner.rule_engine.loader import load_rules
from scanner.rule_engine.rules import evaluate
from scanner.support.errors import InputError
from tests.factories import make_host, make_service
from tests.properties import bounded
from tests.scanner.support.hostile_yaml import bomb_list, line_with
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


NGINX_PAGE = """\
title: nginx
releases:
  - releaseCycle: "1.27"
    releaseDate: 2024-05-28
    eol: false
    latest: "1.27.4"
    latestReleaseDate: 2025-02-05
  - releaseCycle: "1.20"
    releaseDate: 2021-05-25
    eol: 2022-05-24
    latest: "1.20.2"
    latestReleaseDate: 2021-11-16
"""


def test_an_endoflife_page_becomes_lifecycle_rules(tmp_path: Path) -> None:
    page = tmp_path / "feeds" / "nginx.yaml"
    page.parent.mkdir()
    page.write_text(NGINX_PAGE, encoding="utf-8")
    report = import_feeds([page], tmp_path / "out", None, dt.date(2025, 3, 1))
    assert report.files_written == 1
    rules = load_rules([tmp_path / "out"])
    assert all(rule.data_as_of == "2025-03-01" for rule in rules)
    old = make_host(services=(make_service(product="nginx", version="1.20.1"),))
    assert any(f.rule_id == "nginx-eol" for f in evaluate([old], [], rules))


@pytest.mark.parametrize(
    ("extra", "needle", "message"),
    [
        ("    eol: !date 2022-05-24\n", "!date", "unknown YAML tag !date"),
        ("    eol: 2022-05-25\n", "eol: 2022-05-25", "duplicate key 'eol' (first on line 10)"),
        ("    latest: 1" + "0" * 400 + "\n", "0000", "integer out of range"),
        ("    latest: \x1b[2J\n", "\x1b", "YAML does not allow the control character U+001B"),
        (
            "    copies:\n" + "\n".join(f"    {line}" for line in bomb_list("x")[1:]) + "\n",
            "&l3",
            "aliases expand past 10000 nodes",
        ),
    ],
)
def test_a_hostile_endoflife_page_names_file_and_line(
    tmp_path: Path, extra: str, needle: str, message: str
) -> None:
    page = tmp_path / "nginx.yaml"
    page.write_text(NGINX_PAGE + extra, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_feeds([page], tmp_path / "out", None, dt.date(2025, 3, 1))
    line = line_with(NGINX_PAGE + extra, needle)
    assert line > NGINX_PAGE.count("\n")
    assert str(caught.value).startswith(f"{page}:{line}: {message}")


# --- Hostile feeds: names from the data stay inside -o, rules are linted ------


def _osv(vuln_id: str, introduced: str = "1.20.0", **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((FIXTURES / "feeds" / "osv-sample.json").read_text())
    record["id"] = vuln_id
    record["aliases"] = []
    record["affected"][0]["ranges"][0]["events"][0]["introduced"] = introduced
    record.update(changes)
    return record


def _import(tmp_path: Path, records: list[dict[str, Any]]) -> tuple[ImportReport, Path]:
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(records), encoding="utf-8")
    out = tmp_path / "deep" / "out"
    return import_feeds([feed], out, None), out


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.parametrize(
    "vuln_id",
    [
        "../../escaped",
        "../escaped",
        "..",
        "/tmp/trustscan-absolute",
        "sub/dir",
        ".hidden",
        "-flag",
        "CVE-2099-0001\n",
        "X" * 101,
        "CVE\u20132099",
    ],
)
def test_an_unsafe_id_is_not_written_anywhere(tmp_path: Path, vuln_id: str) -> None:
    report, _ = _import(tmp_path, [_osv(vuln_id), _osv("CVE-2099-0002")])
    assert _files(tmp_path) == [
        "deep",
        "deep/out",
        "deep/out/CVE-2099-0002.yaml",
        "feed.json",
    ]
    assert not Path("/tmp/trustscan-absolute.yaml").exists()
    (refusal,) = report.refused
    assert refusal.startswith(json.dumps(vuln_id[:60]))
    assert refusal.endswith(
        "not written: the id is no safe file name (letters, digits, '.', '_' and '-', at most 100)"
    )
    assert refusal.isprintable()
    assert (report.files_written, report.rules_written) == (1, 1)


def test_a_link_out_of_the_directory_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("precious\n", encoding="utf-8")
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    (out / "CVE-2099-0001.yaml").symlink_to(outside)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([_osv("CVE-2099-0001")]), encoding="utf-8")
    report = import_feeds([feed], out, None)
    assert outside.read_text() == "precious\n"
    (refusal,) = report.refused
    assert refusal.startswith('"CVE-2099-0001": not written: ')
    assert refusal.endswith(f"leads out of {out}")


def test_a_rule_that_fails_lint_is_not_written(tmp_path: Path) -> None:
    report, out = _import(
        tmp_path,
        [
            _osv("CVE-2099-0003", introduced="not a version"),
            _osv("CVE_2099_0004"),
            _osv("cve-2099-0007"),
        ],
    )
    assert _files(out) == []
    assert report.refused == [
        "CVE-2099-0003.yaml: not written: fails lint: line 20: '>=not a version,<1.22.2' is "
        "not a version specifier (write e.g. '>=2.4.0,<2.4.68')",
        "CVE_2099_0004.yaml: not written: fails lint: line 4: rules.0.id: "
        "'nginx-cve_2099_0004' does not match '^[a-z0-9][a-z0-9.-]{2,79}$' (and 1 more)",
        "cve-2099-0007.yaml: not written: fails lint: line 9: rules.0.vulnerability.id: "
        "'cve-2099-0007' does not match '^[A-Z][A-Z0-9]*-[0-9A-Za-z-]+$'",
    ]
    assert (report.files_written, report.rules_written) == (0, 0)


def test_ids_that_differ_in_case_are_one_rule(tmp_path: Path) -> None:
    report, out = _import(tmp_path, [_osv("CVE-2099-000A"), _osv("CVE-2099-000a")])
    assert _files(out) == ["CVE-2099-000A.yaml"]
    assert report.refused == [
        "CVE-2099-000a.yaml: not written: fails lint: rule id 'nginx-cve-2099-000a' is already "
        "in CVE-2099-000A.yaml"
    ]
    assert len(load_rules([out])) == 1


def test_one_id_twice_for_a_product_keeps_the_first(tmp_path: Path) -> None:
    second = _osv("CVE-2099-0008", introduced="1.10.0")
    report, out = _import(tmp_path, [_osv("CVE-2099-0008"), second])
    assert _files(out) == ["CVE-2099-0008.yaml"]
    assert report.refused == []
    assert report.skipped == ["feed.json: CVE-2099-0008 for nginx again: kept the first record"]
    (rule,) = load_rules([out])
    host = make_host(services=(make_service(product="nginx", version="1.15.0"),))
    assert evaluate([host], [], [rule]) == ()  # the second record's range was not used


def test_a_feed_file_name_cannot_end_the_header_comment(tmp_path: Path) -> None:
    feed = tmp_path / "x\nrules: []\n.json"
    feed.write_text(json.dumps([_osv("CVE-2099-0006")]), encoding="utf-8")
    out = tmp_path / "out"
    report = import_feeds([feed], out, None)
    assert report.refused == []
    text = (out / "CVE-2099-0006.yaml").read_text()
    assert text.startswith("# Generated by `trustscan rules import` from x?rules: []?.json.\n")
    assert len(load_rules([out])) == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("[\n" + "[" * 100_000 + "]" * 100_000 + "]", ":2: arrays and objects nested more than 64"),
        ('[{"id": "CVE-1",\n "x": ' + "9" * 5000 + "}]", ":2: the integer 999999999999...9999"),
        ('[{"id": "CVE-1",\n "x": 1e400}]', ":2: the number 1e400 is out of range"),
        ('[{"id": "CVE-1",\n "x": NaN}]', ":2: NaN is not a JSON number"),
        ('[{"id": "CVE-1",\n "x": "\\ud800"}]', ":2: a string holds a lone surrogate escape"),
        ('[{"id": "CVE-1",\n "x": }]', ":2: not valid JSON (Expecting value, column 7)"),
    ],
)
def test_a_hostile_feed_is_one_input_error(tmp_path: Path, body: str, says: str) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_feeds([feed], tmp_path / "out", None)
    assert str(info.value).startswith(f"{feed}{says}")
    assert not (tmp_path / "out").exists() or _files(tmp_path / "out") == []


# --- Property: any feed imports or is an InputError; what is written lints ----

PROPERTY = bounded(examples=100, seconds=10)

_TEXT = st.one_of(
    st.sampled_from(
        [
            "CVE-2099-0001", "cve-2099-0001", "GHSA-aaaa-bbbb-cccc", "../../x", "/abs", "..",
            ".x", "a/b", "CVE_1", "X" * 120, "nginx", "apache2", "openssh", "PyPI", "0", "1.2.3",
            "1.22.2", "2.4.49", "not a version", ">=1", "ECOSYSTEM", "SEMVER", "GIT", "CVSS_V3",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV:N/AC:L/Au:N/C:C/I:C/A:C",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "critical",
            "moderate", "low", "https://example.invalid/a", "2026-01-15T00:00:00Z", "",
        ]
    ),
    st.text(max_size=12),
)  # fmt: skip
_LEAF = st.one_of(
    _TEXT, st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True)
)
_ANY = st.recursive(
    _LEAF,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=15,
)
_EVENT_KEYS = st.sampled_from(["introduced", "fixed", "last_affected", "limit"])
_EVENT = st.dictionaries(_EVENT_KEYS, _LEAF, min_size=1, max_size=2)
_OSV_RECORD = st.fixed_dictionaries(
    {
        "id": _TEXT,
        "affected": st.lists(
            st.fixed_dictionaries(
                {
                    "package": st.fixed_dictionaries({"name": _TEXT, "ecosystem": _TEXT}),
                    "ranges": st.lists(
                        st.fixed_dictionaries(
                            {"type": _TEXT, "events": st.lists(_EVENT | _ANY, max_size=4)}
                        ),
                        max_size=2,
                    ),
                    "versions": st.lists(_LEAF, max_size=3),
                }
            )
            | _ANY,
            max_size=3,
        ),
    },
    optional={
        "aliases": st.lists(_TEXT, max_size=2) | _ANY,
        "severity": st.lists(st.fixed_dictionaries({"type": _TEXT, "score": _TEXT}), max_size=2),
        "database_specific": st.fixed_dictionaries({"severity": _TEXT}) | _ANY,
        "references": st.lists(st.fixed_dictionaries({"type": _TEXT, "url": _TEXT}), max_size=2),
        "published": _LEAF,
    },
)
_APACHE_RECORD = st.fixed_dictionaries(
    {"CVE_data_meta": st.fixed_dictionaries({"ID": _TEXT}) | _ANY},
    optional={"impact": _ANY, "affects": _ANY, "timeline": _ANY, "problemtype": _ANY},
) | st.fixed_dictionaries(
    {"cveMetadata": st.fixed_dictionaries({"cveId": _TEXT}) | _ANY, "containers": _ANY}
)
_IDS = st.from_regex(r"(CVE|GHSA|OSV)-20[0-9]{2}-[0-9A-Za-z]{1,5}", fullmatch=True)
_VERSIONS = st.one_of(
    st.from_regex(r"[0-9]{1,2}(\.[0-9]{1,2}){0,3}", fullmatch=True),
    st.from_regex(r"[0-9]\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True),
    _LEAF,
)


@st.composite
def _near_osv(draw: st.DrawFn) -> dict[str, Any]:
    """The sample OSV record with its id, package, versions and score drawn:
    mostly well-formed, so that rules get rendered, linted and written."""
    if draw(st.integers(0, 3)):
        events = [{"introduced": draw(_VERSIONS)}, {draw(_EVENT_KEYS): draw(_VERSIONS)}]
    else:
        events = draw(
            st.lists(st.dictionaries(_EVENT_KEYS, _VERSIONS, min_size=1, max_size=1), max_size=4)
        )
    changes: dict[str, Any] = {
        "id": draw(_IDS),
        "aliases": draw(st.lists(_IDS, max_size=2)),
        "affected": [
            {
                "package": {"name": draw(st.sampled_from(["nginx", "openssh", "redis"]) | _TEXT)},
                "ranges": [{"type": draw(st.sampled_from(["ECOSYSTEM", "SEMVER"]) | _TEXT),
                            "events": events}],
                "versions": draw(st.lists(_VERSIONS, max_size=2)),
            }
        ],
    }  # fmt: skip
    if not draw(st.integers(0, 3)):
        changes["severity"] = [{"type": "CVSS_V3", "score": draw(_TEXT)}]
    if not draw(st.integers(0, 3)):
        changes["id"] = draw(_TEXT)
    return _osv("CVE-2099-0001", **changes)


_FEEDS = st.one_of(
    _ANY,
    _OSV_RECORD,
    st.lists(st.one_of(_OSV_RECORD, _APACHE_RECORD), max_size=4),
    st.lists(_near_osv(), min_size=1, max_size=4),
)


def _imported(feed: Path, out: Path, product: str | None) -> ImportReport | InputError:
    try:
        return import_feeds([feed], out, product)
    except InputError as exc:  # anything else fails the test
        return exc


def _check_import(data: object, product: str | None = None) -> ImportReport | InputError:
    """Import `data` as a feed: an InputError naming the feed, or rule files
    only inside the output directory, each of which lints."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        feed = root / "feed.json"
        feed.write_text(json.dumps(data, allow_nan=True), encoding="utf-8")
        out = root / "a" / "out"
        outcome = _imported(feed, out, product)
        assert set(root.rglob("*")) <= {feed, root / "a", out, *out.iterdir()}
        if isinstance(outcome, InputError):
            assert str(outcome).startswith(str(feed))
            assert "\n" not in str(outcome)
            return outcome
        written = list(out.iterdir())
        assert len(written) == outcome.files_written
        assert all(p.suffix == ".yaml" and not p.name.startswith(".") for p in written)
        assert all(p.is_file() and not p.is_symlink() for p in written)
        assert all(note.isprintable() for note in outcome.refused)
        if written:
            assert len(load_rules([out])) == outcome.rules_written
        return outcome


@PROPERTY
@given(_FEEDS, st.booleans())
def test_property_any_feed(data: object, with_product: bool) -> None:
    _check_import(data, "nginx" if with_product else None)


@PROPERTY
@given(st.lists(_near_osv(), min_size=1, max_size=4))
def test_property_near_valid_osv_records(records: list[dict[str, Any]]) -> None:
    outcome = _check_import(records)
    if isinstance(outcome, ImportReport):
        # One file (written or refused) per distinct id: a record's or an alias.
        ids = {str(name) for r in records for name in (r["id"], *r.get("aliases", ()))}
        assert outcome.files_written + len(outcome.refused) <= len(ids)
