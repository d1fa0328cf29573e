"""`trustscan rules import` of distribution advisories: the Debian Security
Tracker (JSON, DSA/DLA and CVE records), Ubuntu's OSV notices and CVE Tracker,
Debian changelogs; the real files of ../shared/data, and hostile ones."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import pytest

from scanner.feeds import advisory_data, debian_changelog, debian_tracker, ubuntu_notices
from scanner.feeds.distro import FeedRecords, Filed
from scanner.feeds.importer import import_feeds
from scanner.rule_engine.advisories import (
    FORMAT,
    ClaimKind,
    ClaimStatus,
    load_dir,
)
from scanner.support.errors import InputError
from scanner.support.resources import builtin_rules_dir
from tests.scanner.support.hostile_yaml import line_with
from tests.support import REPO

SHARED = REPO.parent / "shared" / "data"
TRACKER = SHARED / "debian-tracker" / "vuln-list-debian" / "tracker"
UBUNTU = SHARED / "ubuntu-osv"
CHANGELOGS = SHARED / "debian-changelogs"
needs_shared = pytest.mark.skipif(
    not TRACKER.is_dir(), reason=f"shared data not present at {SHARED}"
)


def _json(path: Path) -> FeedRecords:
    text = path.read_text(encoding="utf-8")
    records = debian_tracker.parse(path, text) or ubuntu_notices.parse(path, text)
    assert records is not None, path
    return records


def _claims(records: FeedRecords, cve: str, package: str | None = None) -> list[Filed]:
    return [f for f in records.claims if f.cve == cve and package in (None, f.package)]


# --- the real files ------------------------------------------------------


@needs_shared
def test_a_dsa_record() -> None:
    records = _json(TRACKER / "DSA" / "DSA-5724-1.json")
    (filed,) = records.claims
    assert (filed.distro, filed.package, filed.cve) == ("Debian", "openssh", "CVE-2024-6387")
    claim = filed.claim
    assert (claim.release, claim.status, claim.kind) == (
        "12",
        ClaimStatus.FIXED,
        ClaimKind.ADVISORY,
    )
    assert (claim.source, claim.version, claim.date) == (
        "DSA-5724-1",
        "1:9.2p1-2+deb12u3",
        "2024-07-01",
    )
    assert (records.kind, records.date) == ("DSA", "2024-07-01")


@needs_shared
def test_a_dla_for_two_releases() -> None:
    records = _json(TRACKER / "DLA" / "DLA-4722-1.json")
    releases = {f.claim.release: f.claim.version for f in records.claims}
    assert set(releases) == {"11", "12"}
    assert all(f.package == "redis" for f in records.claims)
    assert records.kind == "DLA"


@needs_shared
def test_cve_records_say_not_affected_open_and_nothing() -> None:
    regresshion = _json(TRACKER / "CVE" / "2024" / "CVE-2024-6387.json")
    # `- openssh 1:9.7p1-7` is unstable's: no release to file it under.
    ((release, status, note),) = [
        (f.claim.release, f.claim.status, f.claim.note) for f in regresshion.claims
    ]
    assert (release, status) == ("11", ClaimStatus.NOT_AFFECTED)
    assert note == "Vulnerable code introduced later"
    rowhammer = _json(TRACKER / "CVE" / "2023" / "CVE-2023-51767.json")
    assert {f.claim.release: f.claim.status for f in rowhammer.claims} == {
        "11": ClaimStatus.OPEN,
        "12": ClaimStatus.OPEN,
    }
    assert rowhammer.claims[0].claim.note.startswith("postponed: Revisit once hardening")
    # "NOTE: Nonsense CVE assignment": no statement on any release.
    assert _json(TRACKER / "CVE" / "2021" / "CVE-2021-30047.json").claims == ()


@needs_shared
def test_the_tracker_json_with_its_three_conflict_notes() -> None:
    records = _json(SHARED / "debian-tracker" / "bookworm-derived.json")
    assert records.kind == "Debian Security Tracker JSON file"
    (regresshion,) = _claims(records, "CVE-2024-6387")
    assert regresshion.claim.status is ClaimStatus.FIXED
    assert regresshion.claim.version == "1:9.2p1-2+deb12u3"
    assert regresshion.claim.kind is ClaimKind.TRACKER
    cautioned = sorted((f.package, f.cve) for f in records.claims if f.claim.caution)
    assert cautioned == [
        ("memcached", "CVE-2023-46852"),
        ("openssh", "CVE-2025-32728"),
        ("php8.2", "CVE-2024-4577"),
    ]
    data = json.loads((SHARED / "debian-tracker" / "bookworm-derived.json").read_text())
    pairs = sum(len(v) for k, v in data.items() if not k.startswith("_"))
    assert len(records.claims) == pairs


@needs_shared
def test_a_usn_per_release_and_its_cves_map() -> None:
    regresshion = _json(UBUNTU / "osv" / "usn" / "USN-6859-1.json")
    assert {f.claim.release: f.claim.version for f in regresshion.claims} == {
        "22.04": "1:8.9p1-3ubuntu0.10",
        "24.04": "1:9.6p1-3ubuntu13.3",
    }
    assert regresshion.date == "2025-07-16"  # the record's `modified`
    openssl = _json(UBUNTU / "osv" / "usn" / "USN-6937-1.json")
    # 20.04's cves_map leaves CVE-2024-4603 out: nothing is recorded for it there.
    releases = {f.claim.release for f in _claims(openssl, "CVE-2024-4603")}
    assert releases == {"22.04", "24.04"}
    apache = _json(UBUNTU / "osv" / "usn" / "USN-6729-1.json")
    # The notice predates 24.04: no statement on 24.04, certainly not "fixed".
    assert {f.claim.release for f in apache.claims} == {"20.04", "22.04"}


@needs_shared
def test_a_usn_for_ubuntu_pro_releases() -> None:
    records = _json(UBUNTU / "osv" / "usn" / "USN-6939-1.json")
    assert {f.claim.release: f.claim.version for f in records.claims}["16.04"] == (
        "4.86.2-2ubuntu2.6+esm8"
    )


@needs_shared
def test_the_ubuntu_cve_tracker() -> None:
    records = _json(UBUNTU / "uct-vuln-list" / "ubuntu" / "2025" / "CVE-2025-26465.json")
    openssh = {f.claim.release: f.claim for f in records.claims if f.package == "openssh"}
    assert openssh["22.04"].status is ClaimStatus.FIXED
    assert openssh["22.04"].version == "1:8.9p1-3ubuntu0.11"
    # `esm-infra/bionic` continues 18.04; `fips/...` is another line, not read.
    assert openssh["18.04"].version == "1:7.6p1-4ubuntu0.7+esm4"
    assert not any("Fips" in f.claim.version or "fips" in f.claim.version for f in records.claims)


@needs_shared
def test_the_openssh_changelog_never_names_regresshion() -> None:
    records = debian_changelog.parse(CHANGELOGS / "openssh-client.changelog.Debian.gz", 1 << 20)
    assert _claims(records, "CVE-2024-6387") == []
    (named,) = _claims(records, "CVE-2025-32728")
    claim = named.claim
    assert (named.distro, named.package, claim.release) == ("Debian", "openssh", "12")
    assert (claim.status, claim.kind) == (ClaimStatus.MENTIONED, ClaimKind.CHANGELOG)
    assert claim.version == "1:9.2p1-2+deb12u6"
    assert records.date == "2026-05-05"


@needs_shared
def test_a_changelog_names_a_cve_at_its_oldest_entry() -> None:
    records = debian_changelog.parse(CHANGELOGS / "php8.2-common.changelog.Debian.gz", 1 << 22)
    (cve,) = _claims(records, "CVE-2024-4577")
    assert cve.claim.version == "8.2.20-1~deb12u1"
    # A mention as background is still only a mention: weaker evidence.
    (background,) = _claims(records, "CVE-2012-1823")
    assert background.claim.kind is ClaimKind.CHANGELOG


@needs_shared
def test_a_changelog_of_no_release_gives_no_claims() -> None:
    records = debian_changelog.parse(CHANGELOGS / "exim4-base.changelog.Debian.old.gz", 1 << 22)
    assert records.claims == ()


@needs_shared
def test_the_built_in_data_is_the_import_of_the_shared_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run as the files say they were made, from the checkout with relative paths.
    monkeypatch.chdir(REPO)
    committed = builtin_rules_dir() / "advisories"
    first = json.loads((committed / "debian-12.json").read_text(encoding="utf-8"))
    command = re.fullmatch(
        r"Generated by `(.*)`: do not edit by hand, run it again\.", first["_generated"]
    )
    assert command is not None
    args = command.group(1).split()
    assert args[:3] == ["trustscan", "rules", "import"]
    assert args[-2:] == ["-o", "rules/advisories"]
    feeds = [Path(a) for a in args[3:-2]]
    shared = Path(os.path.relpath(SHARED, REPO))
    assert all(f.is_relative_to(shared) for f in feeds)
    import_feeds(feeds, tmp_path / "rules" / "advisories", None)
    generated = tmp_path / "rules" / "advisories"
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in generated.iterdir())
    for name in names:
        made = (generated / name).read_text(encoding="utf-8")
        # Only the output directory differs: written here, not into the checkout.
        made = made.replace(str(generated), "rules/advisories")
        assert made == (committed / name).read_text(encoding="utf-8"), (
            f"regenerate {name} with `trustscan rules import` (see its _generated)"
        )


def test_every_built_in_data_file_records_source_date_and_coverage() -> None:
    files = sorted((builtin_rules_dir() / "advisories").glob("*.json"))
    assert {p.name for p in files} >= {"debian-12.json", "ubuntu.json"}
    dated = {p.name: json.loads(p.read_text(encoding="utf-8"))["as_of"] for p in files}
    assert dated["debian-12.json"] >= "2026-11-01"
    assert dated["ubuntu.json"] >= "2026-04-27"
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert list(data)[:2] == ["_generated", "format"]
        assert data["format"] == FORMAT
        assert data["_generated"].startswith("Generated by `trustscan rules import ")
        # The newest dated record's day; a file of undated records (tracker
        # CVE records only) has none, and says so rather than make one up.
        assert re.fullmatch(r"(\d{4}-\d{2}-\d{2})?", data["as_of"]), path.name
        assert data["coverage"].startswith("partial: ")
        assert "trustscan rules import" in data["update"]
        assert data["inputs"]


# --- hostile and malformed input: InputError with the file and the line ----


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path, needle: str, match: str) -> None:
    line = line_with(path.read_text(encoding="utf-8"), needle)
    with pytest.raises(InputError, match=rf"{re.escape(str(path))}:{line}: .*{match}"):
        import_feeds([path], path.parent / "out", None)


DSA = """{
  "Header": {"Original": "[01 Jul 2024] DSA-9999-1 openssh - security update", "ID": "DSA-9999-1"},
  "Annotations": [
    {"Original": "{CVE-2099-0001}", "Type": "xref", "Bugs": ["CVE-2099-0001"]},
    {"Original": "[bookworm] - openssh", "Type": "package", "Release": "bookworm",
     "Package": "openssh", "Kind": "fixed", "Version": VERSION}
  ]
}
"""


def test_a_dsa_with_a_bad_version(tmp_path: Path) -> None:
    path = _write(tmp_path, "DSA-9999-1.json", DSA.replace("VERSION", '"1:::9 bad"'))
    _refused(path, '"Version": "1:::9 bad"', "is not a Debian package version")


def test_a_dsa_with_a_number_for_a_version(tmp_path: Path) -> None:
    path = _write(tmp_path, "DSA-9999-1.json", DSA.replace("VERSION", "92"))
    with pytest.raises(
        InputError, match=r"DSA-9999-1\.json:\d+: .*'92' is not a Debian package version"
    ):
        import_feeds([path], tmp_path / "out", None)


def test_a_tracker_record_without_an_id(tmp_path: Path) -> None:
    path = _write(tmp_path, "x.json", '{"Header": {"Original": "x"},\n "Annotations": []}\n')
    _refused(path, '"Header"', "needs a `Header` with an `ID`")


def test_a_tracker_json_with_an_unknown_status(tmp_path: Path) -> None:
    text = (
        '{"openssh": {\n "CVE-2099-0001": {\n  "releases": {\n'
        '   "bookworm": {"status": "maybe", "fixed_version": null}\n  }\n }\n}}\n'
    )
    path = _write(tmp_path, "tracker.json", text)
    _refused(path, '"maybe"', "unknown status 'maybe'")


def test_a_tracker_json_with_a_bad_package_name(tmp_path: Path) -> None:
    text = '{\n "Open SSH!": {"CVE-2099-0001": {"releases": {}}}\n}\n'
    path = _write(tmp_path, "tracker.json", text)
    _refused(path, "Open SSH!", "is not a source package")


def test_a_usn_with_a_bad_fixed_version(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "id": "USN-9999-1",
            "upstream": ["UBUNTU-CVE-2099-0001"],
            "affected": [
                {
                    "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssh"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "0"}, {"fixed": "not a version"}],
                        }
                    ],
                }
            ],
        },
        indent=2,
    )
    path = _write(tmp_path, "USN-9999-1.json", text)
    _refused(path, '"fixed": "not a version"', "is not a package version")


def test_a_cve_tracker_record_without_a_status(tmp_path: Path) -> None:
    text = (
        '{"Candidate": "CVE-2099-0001",\n "Patches": {"openssh": {\n'
        '  "jammy": {"Note": "x"}\n }}}\n'
    )
    path = _write(tmp_path, "CVE-2099-0001.json", text)
    _refused(path, '"jammy"', "no `Status`")


def test_nesting_and_huge_numbers_are_the_json_readers_to_refuse(tmp_path: Path) -> None:
    deep = _write(
        tmp_path,
        "deep.json",
        '{"Header": {"ID": "DSA-1-1"}, "Annotations": ' + "[" * 200 + "]" * 200 + "}",
    )
    with pytest.raises(InputError, match=r"deep\.json:1: arrays and objects nested more than"):
        import_feeds([deep], tmp_path / "out", None)
    huge = _write(
        tmp_path,
        "huge.json",
        '{"openssh": {"CVE-2099-0001": {"releases": {\n"bookworm": {"status": 1'
        + "0" * 400
        + "}}}}}",
    )
    with pytest.raises(InputError, match=r"huge\.json:2: the integer .* is out of range"):
        import_feeds([huge], tmp_path / "out", None)


CHANGELOG = """\
openssh (1:9.2p1-2+deb12u6) bookworm; urgency=medium

  * CVE-2025-32728: fix DisableForwarding.

 -- Colin Watson <cjwatson@debian.org>  Thu, 08 May 2025 10:00:00 +0100

openssh (1:9.2p1-2+deb12u5) bookworm; urgency=medium

  * Fix CVE-2099-0001.

 -- Colin Watson <cjwatson@debian.org>  Thu, 01 May 2025 10:00:00 +0100
"""


def _gz(tmp_path: Path, text: bytes, name: str = "openssh.changelog.Debian.gz") -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(text))
    return path


def test_a_small_changelog(tmp_path: Path) -> None:
    records = debian_changelog.parse(_gz(tmp_path, CHANGELOG.encode()), 1 << 20)
    assert {f.cve: f.claim.version for f in records.claims} == {
        "CVE-2025-32728": "1:9.2p1-2+deb12u6",
        "CVE-2099-0001": "1:9.2p1-2+deb12u5",
    }
    assert records.date == "2025-05-08"


def test_a_changelog_line_that_belongs_to_no_entry(tmp_path: Path) -> None:
    text = CHANGELOG.replace("openssh (1:9.2p1-2+deb12u5)", "garbage line (here)")
    path = _gz(tmp_path, text.encode())
    line = line_with(text, "garbage line")
    with pytest.raises(InputError, match=rf"\.gz:{line}: not a changelog line"):
        import_feeds([path], tmp_path / "out", None)


def test_a_changelog_header_with_a_bad_version(tmp_path: Path) -> None:
    text = CHANGELOG.replace("(1:9.2p1-2+deb12u5)", "(::bad::)")
    line = line_with(text, "::bad::")
    with pytest.raises(InputError, match=rf"\.gz:{line}: '::bad::' is not a package version"):
        import_feeds([_gz(tmp_path, text.encode())], tmp_path / "out", None)


def test_a_changelog_that_is_not_utf8(tmp_path: Path) -> None:
    text = CHANGELOG.encode().replace(b"fix DisableForwarding", b"fix \xff\xfe")
    with pytest.raises(InputError, match=r"\.gz:3: the changelog is not UTF-8 text"):
        import_feeds([_gz(tmp_path, text)], tmp_path / "out", None)


def test_a_gzip_bomb_is_refused(tmp_path: Path) -> None:
    # 17 MB of spaces pack into a few kB.
    bomb = _gz(tmp_path, b" " * (debian_changelog.MAX_UNPACKED + 1024))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"unpacks to more than"):
        import_feeds([bomb], tmp_path / "out", None)


def test_a_gz_that_is_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x.changelog.Debian.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(
        InputError, match=r"x\.changelog\.Debian\.gz: not a gzip-compressed changelog"
    ):
        import_feeds([path], tmp_path / "out", None)


# --- the data files the rule engine reads ----------------------------------


def test_import_writes_data_the_rule_engine_reads(tmp_path: Path) -> None:
    feed = _write(tmp_path, "DSA-9999-1.json", DSA.replace("VERSION", '"1:9.2p1-2+deb12u9"'))
    report = import_feeds([feed, _gz(tmp_path, CHANGELOG.encode())], tmp_path / "out", None)
    assert report.data_written == 1
    data = load_dir(tmp_path / "out")
    (source,) = data.sources
    assert source.name == "Debian 12 (bookworm) security advisories"
    assert source.as_of == "2025-05-08"  # the newest record
    assert source.coverage.startswith("partial: 1 DSA, 1 package changelog; 3 statements on 2 CVEs")
    claims = data.package("Debian", "openssh")["CVE-2099-0001"]
    assert {c.kind for c in claims} == {ClaimKind.ADVISORY, ClaimKind.CHANGELOG}


def _data_file(tmp_path: Path, claim: str) -> Path:
    out = tmp_path / "adv"
    out.mkdir()
    text = (
        "{\n"
        f' "format": "{FORMAT}",\n'
        ' "distribution": "Debian",\n'
        ' "name": "test",\n'
        ' "coverage": "partial: for the tests",\n'
        ' "releases": {"12": "bookworm"},\n'
        ' "packages": {\n'
        '  "openssh": {\n'
        '   "CVE-2099-0001": [\n'
        '    {"release": "12", "status": "open", "kind": "tracker", "source": "t"},\n'
        f"    {claim}\n"
        "   ]\n"
        "  }\n"
        " }\n"
        "}\n"
    )
    (out / "debian-12.json").write_text(text, encoding="utf-8")
    return out


@pytest.mark.parametrize(
    ("claim", "needle", "match"),
    [
        (
            '{"release": "12", "status": "fixed", "kind": "advisory", "source": "DSA-1-1", '
            '"version": "bad version"}',
            "bad version",
            "is not a Debian package version",
        ),
        (
            '{"release": "99", "status": "fixed", "kind": "advisory", "source": "DSA-1-1", '
            '"version": "1.0-1"}',
            '"99"',
            "release '99' is not in `releases`",
        ),
        (
            '{"release": "12", "status": "perhaps", "kind": "advisory", "source": "DSA-1-1"}',
            "perhaps",
            "unknown `status`",
        ),
        (
            '{"release": "12", "status": "open", "kind": "tracker", "source": ""}',
            '"source": ""',
            "`source` must be a text",
        ),
    ],
)
def test_a_malformed_data_file_names_file_and_line(
    tmp_path: Path, claim: str, needle: str, match: str
) -> None:
    out = _data_file(tmp_path, claim)
    path = out / "debian-12.json"
    line = line_with(path.read_text(encoding="utf-8"), needle)
    with pytest.raises(InputError, match=rf"{re.escape(str(path))}:{line}: .*{re.escape(match)}"):
        load_dir(out)


def test_a_data_file_of_another_format_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "adv"
    out.mkdir()
    (out / "x.json").write_text('{"format": "trustscan-kev/1"}', encoding="utf-8")
    with pytest.raises(InputError, match=r"x\.json:1: file: not trustscan advisory data"):
        load_dir(out)


def test_feeds_of_another_kind_are_left_to_the_other_importers(tmp_path: Path) -> None:
    osv = _write(tmp_path, "osv.json", '{"id": "GHSA-x", "affected": []}')
    assert advisory_data.read_feed(osv, 1 << 20) is None
