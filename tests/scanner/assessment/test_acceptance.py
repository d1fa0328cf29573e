"""Accepted risks: loading the file (file:line problems, hostile YAML), each
matcher, expiry on a given day, stale and expired entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from scanner.assessment.acceptance import (
    AcceptError,
    accept_schema_path,
    accepted,
    load_accepted,
)
from scanner.assessment.inventory import Asset, Inventory
from scanner.assessment.risk import assessed
from scanner.model import Acceptance, Finding, ScanResult
from scanner.support.errors import InputError
from tests.factories import make_result
from tests.scanner.support.hostile_yaml import (
    PROPERTY,
    VALUES,
    bomb_list,
    call_isolated,
    filled,
    line_with,
)
from tests.support import FIXTURES

SAMPLE = FIXTURES / "accept" / "accepted.yaml"
BAD = FIXTURES / "accept" / "bad.yaml"
TODAY = date(2026, 12, 7)
# Valid until the end of this day.
KEEP = "reason: kept on purpose\n    owner: sec@example.test\n    expires: 2027-03-31\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accepted.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _entry(tmp_path: Path, matchers: str, expires: str = "2027-03-31") -> Path:
    """A file of one entry: `matchers` are its `key: value` lines."""
    lines = "".join(f"    {line}\n" for line in matchers.splitlines())
    text = (
        "accepted:\n  - reason: kept on purpose\n    owner: sec@example.test\n"
        f"    expires: {expires}\n{lines}"
    )
    return _write(tmp_path, text)


def _marks(result: ScanResult) -> dict[tuple[str, str, int | None], Acceptance | None]:
    return {(f.rule_id, f.host, f.port): f.accepted for f in result.findings}


def _accepted_keys(result: ScanResult) -> set[tuple[str, str, int | None]]:
    return {key for key, mark in _marks(result).items() if mark is not None and not mark.expired}


def _apply(tmp_path: Path, matchers: str, result: ScanResult | None = None) -> ScanResult:
    risks = load_accepted(_entry(tmp_path, matchers))
    return accepted(result if result is not None else make_result(), risks, TODAY)


def test_the_schema_ships_with_the_reports() -> None:
    assert accept_schema_path().is_file()
    assert accept_schema_path().parent.name == "reports"


def test_the_sample_file_loads_with_each_entry_s_line() -> None:
    risks = load_accepted(SAMPLE)
    assert risks.source == str(SAMPLE)
    text = SAMPLE.read_text(encoding="utf-8")
    first = risks.entries[0]
    assert first.source == f"{SAMPLE}:{line_with(text, 'rule: apache-httpd-eol')}"
    assert (first.rule, first.host, first.port) == ("apache-httpd-eol", "127.0.0.10", 80)
    assert (first.owner, first.expires) == ("platform@example.com", date(2027, 3, 31))
    assert first.reason.startswith("CentOS 6 box")
    # A quoted date is a date too.
    assert risks.entries[2].expires == date(2027, 6, 30)
    assert len(risks.entries) == 4


def test_the_sample_file_on_the_factory_result() -> None:
    result = accepted(make_result(), load_accepted(SAMPLE), TODAY)
    marks = _marks(result)
    eol = marks[("apache-httpd-eol", "127.0.0.10", 80)]
    assert eol == Acceptance(
        owner="platform@example.com",
        expires="2027-03-31",
        reason="CentOS 6 box kept for the legacy billing export until migration",
        source=f"{SAMPLE}:4",
        expired=False,
    )
    # Only the expired glob-and-network entry matches the 443 finding.
    outdated = marks[("apache-httpd-outdated", "127.0.0.10", 443)]
    assert outdated is not None
    assert outdated.expired
    assert outdated.source == f"{SAMPLE}:10"
    assert marks[("mariadb-exposed", "127.0.0.11", 3306)] is None
    check = result.acceptance
    assert check is not None
    assert (check.source, check.checked_on, check.accepted) == (str(SAMPLE), "2026-12-07", 1)
    assert check.expired == (
        f"{SAMPLE}:10: rule apache-httpd-*, host 127.0.0.0/24; expired after 2026-01-31",
    )
    assert check.stale == (
        f"{SAMPLE}:15: rule tls-*, host *.example.test",
        f"{SAMPLE}:20: rule web-server-status-exposed, host 127.0.0.22, port 80",
    )
    # Nothing else changes: every finding is still there.
    assert [replace(f, accepted=None) for f in result.findings] == list(make_result().findings)


# --- each matcher ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        ("rule: mariadb-exposed", {("mariadb-exposed", "127.0.0.11", 3306)}),
        (
            "rule: apache-httpd-*",
            {("apache-httpd-eol", "127.0.0.10", 80), ("apache-httpd-outdated", "127.0.0.10", 443)},
        ),
        ("rule: 'apache-httpd-?ol'", {("apache-httpd-eol", "127.0.0.10", 80)}),
        ("rule: APACHE-HTTPD-EOL", {("apache-httpd-eol", "127.0.0.10", 80)}),
        (
            "host: 127.0.0.11",
            {("mariadb-exposed", "127.0.0.11", 3306), ("ssh-banner", "127.0.0.11", 22)},
        ),
        (
            "host: 127.0.0.8/29",  # 127.0.0.8-15
            {
                ("apache-httpd-eol", "127.0.0.10", 80),
                ("apache-httpd-outdated", "127.0.0.10", 443),
                ("mariadb-exposed", "127.0.0.11", 3306),
                ("ssh-banner", "127.0.0.11", 22),
            },
        ),
        ("host: 127.0.0.10/31\nport: 3306", {("mariadb-exposed", "127.0.0.11", 3306)}),
        (
            "host: www.example.test",  # the host's name, from nmap
            {("apache-httpd-eol", "127.0.0.10", 80), ("apache-httpd-outdated", "127.0.0.10", 443)},
        ),
        ("host: 'WWW.*.test'\nport: 443", {("apache-httpd-outdated", "127.0.0.10", 443)}),
        ("rule: '*'\nhost: 127.0.0.11\nport: 22", {("ssh-banner", "127.0.0.11", 22)}),
        ("rule: apache-httpd-eol\nport: 443", set()),
        ("host: 127.0.0.12", set()),
        ("host: 'db.example.test'", set()),
    ],
)
def test_each_matcher_and_their_combination(
    tmp_path: Path, matchers: str, expected: set[tuple[str, str, int]]
) -> None:
    result = _apply(tmp_path, matchers)
    assert _accepted_keys(result) == expected
    check = result.acceptance
    assert check is not None
    assert check.accepted == len(expected)
    assert len(check.stale) == (0 if expected else 1)


def test_an_ipv6_address_matches_however_it_is_written(tmp_path: Path) -> None:
    base = make_result()
    finding = replace(base.findings[0], host="2001:db8::1")
    result = _apply(tmp_path, "host: '2001:0db8:0:0::1'", replace(base, findings=(finding,)))
    assert _accepted_keys(result) == {("apache-httpd-eol", "2001:db8::1", 80)}


def test_host_matches_the_inventory_s_system_name(tmp_path: Path) -> None:
    inventory = Inventory(
        "assets.yaml", (Asset("Customer DB (billing)", address="127.0.0.11", owner="dba"),)
    )
    result = assessed(make_result(), inventory)
    marked = _apply(tmp_path, "host: customer db (billing)\nport: 3306", result)
    assert _accepted_keys(marked) == {("mariadb-exposed", "127.0.0.11", 3306)}
    patterned = _apply(tmp_path, "host: 'customer db*'", result)
    assert _accepted_keys(patterned) == {
        ("mariadb-exposed", "127.0.0.11", 3306),
        ("ssh-banner", "127.0.0.11", 22),
    }
    # Without the assessment's system name, the same entry matches nothing.
    assert _accepted_keys(_apply(tmp_path, "host: customer db (billing)")) == set()


def test_fingerprint_matches_the_one_finding(tmp_path: Path) -> None:
    # Taken from the assessed result: the fingerprints the reports show.
    result = assessed(make_result())
    target = result.findings[2]
    marked = _apply(tmp_path, f"fingerprint: {target.fingerprint.upper()}", result)
    assert _accepted_keys(marked) == {(target.rule_id, target.host, target.port)}
    assert (
        _accepted_keys(_apply(tmp_path, "fingerprint: 0123456789abcdef01234567", result)) == set()
    )


def test_the_first_valid_entry_in_file_order_wins(tmp_path: Path) -> None:
    text = (
        "accepted:\n"
        "  - rule: mariadb-exposed\n    reason: old\n    owner: a@x\n    expires: 2026-01-01\n"
        "  - host: 127.0.0.11\n    reason: second\n    owner: b@x\n    expires: 2027-01-01\n"
        "  - rule: mariadb-*\n    reason: third\n    owner: c@x\n    expires: 2028-01-01\n"
    )
    result = accepted(make_result(), load_accepted(_write(tmp_path, text)), TODAY)
    mark = _marks(result)[("mariadb-exposed", "127.0.0.11", 3306)]
    assert mark is not None
    assert (mark.owner, mark.expired, mark.source) == ("b@x", False, f"{tmp_path}/accepted.yaml:6")
    check = result.acceptance
    assert check is not None
    assert check.stale == ()  # the third matched too, though the second won
    assert check.expired == (
        f"{tmp_path}/accepted.yaml:2: rule mariadb-exposed; expired after 2026-01-01",
    )
    assert check.accepted == 2  # mariadb-exposed and ssh-banner, both by the second entry


# --- expiry -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expired"),
    [(date(2027, 3, 30), False), (date(2027, 3, 31), False), (date(2027, 4, 1), True)],
)
def test_an_acceptance_counts_through_its_expiry_day(
    tmp_path: Path, today: date, expired: bool
) -> None:
    risks = load_accepted(_entry(tmp_path, "rule: mariadb-exposed"))
    result = accepted(make_result(), risks, today)
    mark = _marks(result)[("mariadb-exposed", "127.0.0.11", 3306)]
    assert mark is not None
    assert mark.expired is expired
    check = result.acceptance
    assert check is not None
    assert check.checked_on == today.isoformat()
    assert check.accepted == (0 if expired else 1)
    assert len(check.expired) == (1 if expired else 0)
    assert check.stale == ()


def test_an_expired_entry_that_matched_nothing_is_stale_and_says_so(tmp_path: Path) -> None:
    risks = load_accepted(_entry(tmp_path, "host: 10.9.9.9", expires="2025-05-05"))
    check = accepted(make_result(), risks, TODAY).acceptance
    assert check is not None
    assert check.expired == ()
    assert check.stale == (f"{tmp_path}/accepted.yaml:2: host 10.9.9.9; expired after 2025-05-05",)


def test_marks_of_an_earlier_file_are_replaced(tmp_path: Path) -> None:
    first = accepted(make_result(), load_accepted(SAMPLE), TODAY)
    assert any(f.accepted is not None for f in first.findings)
    again = _apply(tmp_path, "rule: ssh-banner", first)
    assert {key for key, mark in _marks(again).items() if mark is not None} == {
        ("ssh-banner", "127.0.0.11", 22)
    }
    assert again.acceptance is not None
    assert again.acceptance.source == f"{tmp_path}/accepted.yaml"


def test_an_empty_list_accepts_nothing(tmp_path: Path) -> None:
    result = accepted(make_result(), load_accepted(_write(tmp_path, "accepted: []\n")), TODAY)
    assert all(f.accepted is None for f in result.findings)
    assert result.acceptance is not None
    assert (result.acceptance.accepted, result.acceptance.stale) == (0, ())


# --- problems, with file and line ----------------------------------------------


def test_a_bad_file_names_every_problem_with_its_line() -> None:
    with pytest.raises(AcceptError) as caught:
        load_accepted(BAD)
    assert isinstance(caught.value, InputError)
    assert caught.value.exit_code == 2
    assert [str(p) for p in caught.value.problems] == [
        f"{BAD}:2: accepted.0: 'owner' is a required property",
        f"{BAD}:6: accepted.1: an entry names a rule, a host or a fingerprint "
        "(a port alone would accept any weakness on any machine)",
        f"{BAD}:11: accepted.2.host: '10.0.0.0/33' is not a network (e.g. 10.0.0.0/24)",
        f"{BAD}:14: accepted.2.expires: 2027-02-30 is not a date",
        f"{BAD}:18: accepted.3.expires: a date, YYYY-MM-DD",
        f"{BAD}:19: accepted.3: Additional properties are not allowed ('colour' was unexpected)",
    ]
    assert str(caught.value).startswith(f"invalid accepted-risks file: {BAD}:2: ")


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("accepted:\n  - rule: x\n    " + KEEP + "    port: 0\n", 6, "port: 0 is less than"),
        ("accepted:\n  - rule: x\n    " + KEEP + "    port: '80'\n", 6, "must be a whole number"),
        ("accepted:\n  - rule: x\n    reason: '  '\n    owner: o\n    expires: 2027-01-01\n", 3,
         "reason: must not be empty"),
        ("accepted:\n  - host: 10.0.0.300\n    " + KEEP, 2, "'10.0.0.300' is not an IP address"),
        ("accepted:\n  - host: 'fe80::zz'\n    " + KEEP, 2, "'fe80::zz' is not an IP address"),
        ("accepted:\n  - fingerprint: xyz\n    " + KEEP, 2, "hexadecimal fingerprint"),
        ("accepted:\n  - rule: '*'\n    " + KEEP, 2, "would accept every finding: name"),
        ("accepted:\n  - host: '*'\n    port: 80\n    " + KEEP, 2, "every finding on its port"),
        ("accepted:\n  - host: 0.0.0.0/0\n    " + KEEP, 2, "would accept every finding"),
        ("accepted:\n  - rule: '**'\n    host: '*'\n    " + KEEP, 2, "would accept every"),
        ("accepted:\n  - rule: x\n    reason: r\n    owner: o\n    expires: 27-3-31\n", 5,
         "a date, YYYY-MM-DD"),
        ("accepted:\n  - rule: x\n    reason: r\n    owner: [a, b]\n    expires: 2027-01-01\n",
         4, "owner: must be text"),
        ("accepted:\n  - rule: x\n    " + KEEP + "    rule: y\n", 6, "duplicate key 'rule'"),
        ("accepted:\n  - just a string\n", 2, "must be a object"),
        ("accept:\n  - rule: x\n", 1, "'accepted' is a required property"),
        ("- rule: x\n", 1, "must be a object"),
        ("accepted: [\n", 2, "not valid YAML"),
    ],
)  # fmt: skip
def test_each_problem_points_at_its_line(tmp_path: Path, text: str, line: int, needle: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(AcceptError) as caught:
        load_accepted(path)
    problems = [str(p) for p in caught.value.problems]
    assert any(p.startswith(f"{path}:{line}: ") and needle in p for p in problems), problems


@pytest.mark.parametrize(
    "matchers",
    ["rule: '*'\nhost: 127.0.0.10", "host: '*.example.test'", "rule: 'x*'\nport: 80"],
)
def test_a_wildcard_with_something_narrower_beside_it_loads(tmp_path: Path, matchers: str) -> None:
    assert len(load_accepted(_entry(tmp_path, matchers)).entries) == 1


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read accepted-risks file"):
        load_accepted(tmp_path / "nope.yaml")


# --- hostile files ----------------------------------------------------------------


def test_an_alias_bomb_is_refused_not_a_hang(tmp_path: Path) -> None:
    text = "\n".join(bomb_list("owners")) + "\naccepted:\n  - rule: x\n    owner: *l8\n"
    assert len(text) < 1024
    path = _write(tmp_path, text)
    outcome = call_isolated("scanner.assessment.acceptance", "load_accepted", path)
    assert outcome["error"] == (
        f"invalid accepted-risks file: {path}:{line_with(text, '&l3')}: aliases expand past "
        "10000 nodes or 1048576 characters (an alias bomb?)"
    )
    assert isinstance(outcome["seconds"], float)
    assert outcome["seconds"] < 5


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("accepted:\n  - rule: x\n    port: " + "9" * 5000 + "\n", 3, "integer out of range"),
        ("accepted:\n  - rule: !!python/object/apply:os.system [id]\n", 2, "unsupported YAML tag"),
        ("accepted:\n  - rule: x\x1b[2J\n", 2, "YAML does not allow the control"),
        ("accepted:\n  - " + "[" * 100 + "]" * 100 + "\n", 2, "nested deeper than 64 levels"),
    ],
)
def test_hostile_files_name_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(AcceptError) as caught:
        load_accepted(path)
    assert str(caught.value).startswith(f"invalid accepted-risks file: {path}:{line}: {message}")


ACCEPT_FILE = """\
accepted:
  - rule: {0}
    host: {1}
    port: {2}
    reason: {3}
    owner: {4}
    expires: {5}
  - fingerprint: {6}
    reason: r
    owner: o
    expires: 2027-01-01
"""
ACCEPT_FILES = filled(
    ACCEPT_FILE,
    ("'apache-*'", VALUES),
    (
        "127.0.0.0/24",
        st.one_of(
            VALUES,
            st.sampled_from(["10.0.0.300", "10.0.0.0/33", "::1", "'*'", "fe80::1%eth0", "a:b"]),
        ),
    ),
    ("80", st.one_of(VALUES, st.sampled_from(["0", "65536", "-1", "'80'"]))),
    ("staging only", VALUES),
    ("sec@example.test", VALUES),
    (
        "2027-03-31",
        st.one_of(VALUES, st.sampled_from(["2027-02-30", "'2027-02-30'", "2027-03-31 10:00:00"])),
    ),
    ("0123456789abcdef01234567", VALUES),
)


@PROPERTY
@given(document=ACCEPT_FILES)
def test_an_accept_file_loads_or_is_an_input_error(tmp_path: Path, document: bytes) -> None:
    path = tmp_path / "accepted.yaml"
    path.write_bytes(document)
    try:
        risks = load_accepted(path)
    except InputError as exc:  # AcceptError, or anything else the user must fix
        event(f"refused: {str(exc).split(': ', 2)[-1][:30]}")
        return
    event("loaded")
    assert all(entry.source.startswith(f"{path}:") for entry in risks.entries)
    # What loaded also applies: no matcher can fail on a real result.
    result = accepted(make_result(), risks, TODAY)
    assert len(result.findings) == len(make_result().findings)
    assert all(isinstance(f, Finding) for f in result.findings)
