"""CISA's Known Exploited Vulnerabilities catalogue through `trustscan rules
import`: the real catalogue, the data file the rule engine reads, and
malformed catalogues refused with their file and line."""

from __future__ import annotations

import copy
import filecmp
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.feeds import kev
from scanner.feeds.importer import import_feeds
from scanner.rule_engine.exploited import load_catalog
from scanner.support.errors import InputError
from scanner.support.resources import builtin_rules_dir
from tests.properties import bounded, json_values
from tests.scanner.support.hostile_yaml import line_with
from tests.support import REPO

KEV_DIR = REPO.parent / "shared" / "data" / "kev"
CATALOGUE = KEV_DIR / "known_exploited_vulnerabilities.json"
needs_catalogue = pytest.mark.skipif(
    not CATALOGUE.is_file(), reason=f"CISA's KEV catalogue is not at {CATALOGUE}"
)


def _entry(cve: str, added: str = "2021-11-03", due: str = "2021-11-17") -> dict[str, Any]:
    return {
        "cveID": cve,
        "vendorProject": "Apache",
        "product": "HTTP Server",
        "vulnerabilityName": "Apache HTTP Server Path Traversal Vulnerability",
        "dateAdded": added,
        "shortDescription": "A synthetic entry for trustscan's tests.",
        "requiredAction": "Apply updates per vendor instructions.",
        "dueDate": due,
        "knownRansomwareCampaignUse": "Known",
        "notes": "",
        "cwes": ["CWE-22"],
    }


SMALL: dict[str, Any] = {
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2099.01.02",
    "dateReleased": "2099-01-02T10:00:00.000Z",
    "count": 3,
    "vulnerabilities": [
        _entry("CVE-2021-41773"),
        _entry("CVE-2021-4034", "2022-06-27", "2022-07-18"),
        _entry("CVE-2099-10001", "2099-01-02", "2099-01-23"),
    ],
}


def _write(tmp_path: Path, data: Any, name: str = "kev.json") -> tuple[Path, str]:
    path = tmp_path / name
    text = json.dumps(data, indent=4)
    path.write_text(text, encoding="utf-8")
    return path, text


def test_a_small_catalogue_becomes_the_data_file(tmp_path: Path) -> None:
    feed, _ = _write(tmp_path, SMALL)
    report = import_feeds([feed], tmp_path / "out", None)
    assert (report.data_written, report.rules_written, report.refused) == (1, 0, [])
    written = tmp_path / "out" / kev.DATA_FILE
    text = written.read_text(encoding="utf-8")
    # One CVE a line, in numeric order (CVE-2021-4034 before CVE-2021-41773).
    rows = [line.strip() for line in text.splitlines() if line.strip().startswith('"CVE-')]
    assert rows == [
        '"CVE-2021-4034": {"added": "2022-06-27", "due": "2022-07-18", "ransomware": "Known"},',
        '"CVE-2021-41773": {"added": "2021-11-03", "due": "2021-11-17", "ransomware": "Known"},',
        '"CVE-2099-10001": {"added": "2099-01-02", "due": "2099-01-23", "ransomware": "Known"}',
    ]
    catalog = load_catalog(written)
    assert (catalog.version, catalog.released) == ("2099.01.02", "2099-01-02")
    entry = catalog.entries["CVE-2021-41773"]
    assert (entry.added, entry.due, entry.ransomware, entry.catalog) == (
        "2021-11-03",
        "2021-11-17",
        "Known",
        "2099.01.02",
    )


@needs_catalogue
def test_the_real_catalogue(tmp_path: Path) -> None:
    report = import_feeds([CATALOGUE], tmp_path, None)
    assert report.data_written == 1
    catalog = load_catalog(tmp_path / kev.DATA_FILE)
    raw = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    assert catalog.version == raw["catalogVersion"] == "2025.08.25"
    assert catalog.released == "2025-08-25"
    assert len(catalog.entries) == raw["count"] == 1404
    for item in raw["vulnerabilities"]:
        entry = catalog.entries[item["cveID"]]
        assert (entry.added, entry.due, entry.ransomware) == (
            item["dateAdded"],
            item["dueDate"],
            item["knownRansomwareCampaignUse"],
        )
    traversal = catalog.entries["CVE-2021-41773"]
    assert (traversal.added, traversal.due, traversal.ransomware) == (
        "2021-11-03",
        "2021-11-17",
        "Known",
    )


@needs_catalogue
def test_the_shipped_data_is_the_import_of_the_catalogue(tmp_path: Path) -> None:
    """rules/kev/ is generated, never edited: importing again gives the same bytes."""
    import_feeds([CATALOGUE], tmp_path, None)
    shipped = builtin_rules_dir() / "kev"
    assert sorted(p.name for p in shipped.iterdir()) == [kev.DATA_FILE]
    assert filecmp.cmp(tmp_path / kev.DATA_FILE, shipped / kev.DATA_FILE, shallow=False), (
        "regenerate with `trustscan rules import "
        "../shared/data/kev/known_exploited_vulnerabilities.json -o rules/kev`"
    )


@needs_catalogue
def test_the_kev_directory_imports_and_passes_over_the_schema(tmp_path: Path) -> None:
    report = import_feeds([KEV_DIR], tmp_path, None)
    assert report.data_written == 1
    assert report.skipped == [
        "known_exploited_vulnerabilities_schema.json: the KEV catalogue's JSON Schema, "
        "not a catalogue"
    ]
    assert [p.name for p in tmp_path.iterdir()] == [kev.DATA_FILE]


def _broken(change: str) -> tuple[dict[str, Any], str]:
    """SMALL with one change; the text the change leaves on the line to report."""
    data = copy.deepcopy(SMALL)
    second = data["vulnerabilities"][1]
    if change == "bad-cve":
        second["cveID"] = "CVE-21-4034"
        return data, '"CVE-21-4034"'
    if change == "bad-date":
        second["dueDate"] = "2022-02-30"
        return data, '"2022-02-30"'
    if change == "not-a-date":
        second["dateAdded"] = "27/06/2022"
        return data, '"27/06/2022"'
    if change == "missing":
        del second["requiredAction"]
        return data, '"cveID": "CVE-2021-4034"'
    if change == "not-an-object":
        data["vulnerabilities"][1] = "CVE-2021-4034"
        return data, '"CVE-2021-4034"'
    if change == "ransomware":
        second["knownRansomwareCampaignUse"] = "<b>Known</b>"
        return data, "<b>Known</b>"
    if change == "twice":
        second["cveID"] = "CVE-2021-41773"
        second["product"] = "the second entry"
        return data, '"product": "the second entry"'
    if change == "count":
        data["count"] = 4
        return data, '"count": 4'
    if change == "version":
        data["catalogVersion"] = "\u202e2025"
        return data, '"catalogVersion"'
    if change == "released":
        data["dateReleased"] = "yesterday"
        return data, '"yesterday"'
    raise AssertionError(change)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("bad-cve", 'vulnerabilities[1]: cveID "CVE-21-4034" is not a CVE id'),
        ("bad-date", "vulnerabilities[1]: dueDate '2022-02-30' is no calendar day"),
        ("not-a-date", 'vulnerabilities[1]: dateAdded is "27/06/2022", not a YYYY-MM-DD date'),
        ("missing", "vulnerabilities[1]: an entry has no requiredAction"),
        ("not-an-object", 'vulnerabilities[1]: an entry is "CVE-2021-4034", not an object'),
        ("ransomware", "vulnerabilities[1]: knownRansomwareCampaignUse is"),
        ("twice", "vulnerabilities[1]: CVE-2021-41773 is listed twice (first as entry 0)"),
        ("count", "count is 4 but the catalogue lists 3 vulnerabilities"),
        ("version", "catalogVersion is"),
        ("released", 'dateReleased is "yesterday"'),
    ],
)
def test_a_malformed_catalogue_names_file_and_line(tmp_path: Path, change: str, says: str) -> None:
    data, needle = _broken(change)
    feed, text = _write(tmp_path, data)
    with pytest.raises(InputError) as caught:
        import_feeds([feed], tmp_path / "out", None)
    line = line_with(text, needle)
    if change == "twice":
        line -= 2  # its cveID, two lines above the product that tells it apart
    assert str(caught.value).startswith(f"{feed}:{line}: {says}")
    assert not (tmp_path / "out" / kev.DATA_FILE).exists()


def test_json_that_does_not_parse_names_its_line(tmp_path: Path) -> None:
    feed = tmp_path / "kev.json"
    feed.write_text('{"catalogVersion": "2099.01.02",\n "vulnerabilities": [,]}', encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{feed}:2: not valid JSON"):
        import_feeds([feed], tmp_path / "out", None)


def test_a_catalogue_written_on_one_line_still_names_a_line(tmp_path: Path) -> None:
    data, _ = _broken("bad-date")
    feed = tmp_path / "kev.json"
    feed.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{feed}:1: vulnerabilities\[1\]: dueDate"):
        import_feeds([feed], tmp_path / "out", None)


def test_a_file_naming_catalog_version_but_no_catalogue_is_no_feed(tmp_path: Path) -> None:
    feed, _ = _write(tmp_path, {"catalogVersion": "1", "hello": "world"})
    with pytest.raises(InputError, match="not a feed trustscan reads"):
        import_feeds([feed], tmp_path / "out", None)


def test_the_data_file_replaces_a_link_instead_of_following_it(tmp_path: Path) -> None:
    outside = tmp_path / "precious.json"
    outside.write_text("precious\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / kev.DATA_FILE).symlink_to(outside)
    feed, _ = _write(tmp_path, SMALL)
    import_feeds([feed], out, None)
    assert outside.read_text() == "precious\n"
    assert not (out / kev.DATA_FILE).is_symlink()
    assert len(load_catalog(out / kev.DATA_FILE).entries) == 3


# --- Property: any catalogue-like file imports or is one InputError ----------

_FIELDS = st.sampled_from([*SMALL["vulnerabilities"][0], "catalogVersion", "count"])


@st.composite
def _near_catalogue(draw: st.DrawFn) -> tuple[Any, int]:
    """SMALL with some values replaced by any JSON value, and an indent."""
    data = copy.deepcopy(SMALL)
    for _ in range(draw(st.integers(0, 3))):
        field = draw(_FIELDS)
        value = draw(json_values(leaves=4))
        if field in data:
            data[field] = value
        else:
            index = draw(st.integers(0, len(data["vulnerabilities"]) - 1))
            data["vulnerabilities"][index][field] = value
    if draw(st.booleans()):
        data["vulnerabilities"].append(draw(json_values(leaves=4)))
    return data, draw(st.sampled_from([0, 1, 4]))


@bounded(examples=100, seconds=10)
@given(_near_catalogue())
def test_property_a_catalogue_imports_or_is_one_input_error(drawn: tuple[Any, int]) -> None:
    data, indent = drawn
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        feed = root / "kev.json"
        feed.write_text(json.dumps(data, indent=indent or None), encoding="utf-8")
        refused: InputError | None = None
        try:
            import_feeds([feed], root / "out", None)
        except InputError as exc:  # anything else fails the test
            refused = exc
        if refused is not None:
            assert str(refused).startswith(str(feed))
            assert "\n" not in str(refused)
            assert not (root / "out" / kev.DATA_FILE).exists()
        else:
            catalog = load_catalog(root / "out" / kev.DATA_FILE)
            assert len(catalog.entries) == data["count"]
