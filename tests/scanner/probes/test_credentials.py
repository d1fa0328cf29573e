"""The credentials file: loaded with file:line errors, passwords kept out of reprs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from scanner.probes.credentials import (
    DEFAULTS,
    STORES,
    StoreCredential,
    load_credentials,
    permission_warning,
)
from scanner.support.errors import InputError
from tests.scanner.support.hostile_yaml import (
    PROPERTY,
    VALUES,
    bomb_list,
    call_isolated,
    filled,
    line_with,
)
from tests.support import trustscan

GOOD = """\
credentials:
  - store: postgresql
    host: 127.0.40.2
    port: 5432
    username: shop_owner
    password: "s3cret-Value"
  - store: "*"
    username: auditor
    password: other
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "creds.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # as a credentials file should be; the warning has its own tests
    return path


def test_load_and_match(tmp_path: Path) -> None:
    first, anywhere = load_credentials(_write(tmp_path, GOOD))
    assert first == StoreCredential(
        "postgresql", "shop_owner", "s3cret-Value", host="127.0.40.2", port=5432
    )
    assert first.applies("postgresql", "127.0.40.2", 5432)
    assert not first.applies("postgresql", "127.0.40.2", 5433)
    assert not first.applies("mysql", "127.0.40.2", 5432)
    assert anywhere.applies("redis", "10.1.2.3", 6379)


def test_password_never_in_repr_or_label(tmp_path: Path) -> None:
    credential, _ = load_credentials(_write(tmp_path, GOOD))
    assert "s3cret" not in repr(credential)
    assert "s3cret" not in credential.label
    assert credential.label == "user shop_owner from your credentials file"
    assert all("default" in c.label for c in DEFAULTS)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("credentials:\n  - store: oracle\n    username: a\n", 2, "store is not one of"),
        ("credentials:\n  - username: a\n    secret: b\n", 3, "unknown key (allowed: "),
        ("credentials:\n  - username: a\n  - username: b\n    port: 99999\n", 4, "not a port"),
        ("credentials:\n  - username: a\n    port: true\n", 3, "not a port"),
        ("credentials:\n  - username: a\n    password: 1234\n", 3, "must be a string"),
        ("credentials: {}\n", 1, "with a list"),
        ("credentials:\n  - [unclosed\n", 3, "not valid YAML"),
        ("- just a list\n", 1, "expected a mapping"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, text: str, line: int, says: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_credentials(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert says in str(info.value)
    assert info.value.exit_code == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"creds\.yaml:1: cannot read credentials file"):
        load_credentials(tmp_path / "creds.yaml")


# --- hostile credentials files ------------------------------------------------

SECRET = "hunter2-Zq9-never-shown"  # noqa: S105 - a marker to look for


def _refused(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_credentials(path)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    assert SECRET not in message
    return message.removeprefix(f"{path}:")


TAGGED = "credentials:\n  - store: postgresql\n    username: shop\n    password: !secret "


def test_a_tagged_password_is_refused_without_quoting_it(tmp_path: Path) -> None:
    text = (
        f"credentials:\n  - store: postgresql\n    username: shop\n    password: !secret {SECRET}\n"
    )
    assert _refused(tmp_path, text) == "4: unknown YAML tag !secret"


def test_the_cli_refuses_a_tagged_password_before_scanning_and_never_prints_it(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, f"{TAGGED}{SECRET}\n")
    # Were the scan to start, this nmap would leave its mark.
    marker = tmp_path / "nmap-ran"
    nmap = tmp_path / "nmap"
    nmap.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n", encoding="utf-8")
    nmap.chmod(0o755)
    run = trustscan(
        "scan",
        "127.0.0.1",
        "--credentials",
        str(path),
        "-p",
        "1",
        env={"TRUSTSCAN_NMAP": str(nmap)},
    )
    assert run.code == 2
    assert run.err == f"trustscan: error: {path}:4: unknown YAML tag !secret\n"
    assert SECRET not in run.out + run.err
    assert not marker.exists()


ENTRY = "credentials:\n  - username: a\n"
STORE_NAMES = ", ".join(sorted(STORES))
KEYS = "database, host, password, port, store, username"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"{ENTRY}    password: {SECRET}\n    password: b\n", "4: duplicate key (first on line 3)"),
        (f"{ENTRY}    password: a\n    {SECRET}: b\n", f"4: unknown key (allowed: {KEYS})"),
        (f"credentials:\n  - store: {SECRET}\n", f"2: store is not one of {STORE_NAMES}"),
        (f"{ENTRY}    port: {SECRET}\n", "3: port is not a port number (1-65535)"),
        (f"{ENTRY}    password: [{SECRET}]\n", "3: password must be a string (quote it)"),
        (f"credentials:\n  - username: !!int {SECRET}\n", "2: not a valid integer"),
        (f"{ENTRY}    password: {SECRET}\x07\n", "3: YAML does not allow the control character"),
        (f'{ENTRY}    password: "{SECRET}\\q"\n', "3: not valid YAML: found unknown escape"),
        (f"{ENTRY}    port: {'6' * 5000}\n", "3: integer out of range (trustscan reads -2**63"),
    ],
)
def test_no_problem_quotes_a_value(tmp_path: Path, text: str, says: str) -> None:
    assert _refused(tmp_path, text).startswith(says)


def test_invalid_utf8_in_a_password_is_refused_without_quoting(tmp_path: Path) -> None:
    path = tmp_path / "creds.yaml"
    path.write_bytes(f"credentials:\n  - password: {SECRET}\xff\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_credentials(path)
    assert str(info.value) == f"{path}:2: credentials file is not UTF-8 text"


def test_alias_bomb_in_credentials_is_refused_not_a_hang(tmp_path: Path) -> None:
    # `str(store)` expanded 10**9 strings before.
    text = "\n".join(bomb_list("defaults")) + "\ncredentials:\n  - store: *l8\n    username: a\n"
    assert len(text) < 1024
    path = _write(tmp_path, text)
    outcome = call_isolated("scanner.probes.credentials", "load_credentials", path)
    assert outcome["error"] == (
        f"{path}:{line_with(text, '&l3')}: aliases expand past 10000 nodes or 1048576 "
        "characters (an alias bomb?)"
    )
    assert isinstance(outcome["seconds"], float)
    assert outcome["seconds"] < 5


def test_2000_levels_of_nesting_are_refused_not_a_recursion_error(tmp_path: Path) -> None:
    text = "credentials:\n  - username: a\n    password: " + "[" * 2000 + "]" * 2000 + "\n"
    assert _refused(tmp_path, text) == "3: nested deeper than 64 levels"
    block = "credentials:\n  " + "- " * 2000 + "x\n"  # a list in a list in a list...
    assert _refused(tmp_path, block) == "2: nested deeper than 64 levels"


@pytest.mark.parametrize(
    ("mode", "warning"),
    [
        (0o600, None),
        (0o400, None),
        (0o644, "readable by its group and others (mode 0644)"),
        (0o640, "readable by its group (mode 0640)"),
        (0o604, "readable by others (mode 0604)"),
        (0o620, "writable by its group (mode 0620)"),
        (0o601, "open by others (mode 0601)"),
    ],
)
def test_a_file_others_may_read_gets_a_warning(
    tmp_path: Path, mode: int, warning: str | None
) -> None:
    path = _write(tmp_path, GOOD)
    path.chmod(mode)
    if warning is None:
        assert permission_warning(path) is None
    else:
        assert permission_warning(path) == f"{path} is {warning}: chmod 600 {path}"


def test_the_warning_quotes_a_path_for_the_shell(tmp_path: Path) -> None:
    path = tmp_path / "my creds.yaml"
    path.write_text(GOOD, encoding="utf-8")
    path.chmod(0o644)
    assert permission_warning(path) == (
        f"{path} is readable by its group and others (mode 0644): chmod 600 '{path}'"
    )


def test_the_cli_warns_once_and_goes_on(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    path.chmod(0o644)
    # A missing nmap stops the scan right after the credentials are read.
    run = trustscan(
        "scan", "127.0.0.1", "--credentials", str(path), env={"TRUSTSCAN_NMAP": "/nonexistent"}
    )
    warning, error = run.err.splitlines()
    assert warning == (
        f"trustscan: warning: {path} is readable by its group and others (mode 0644): "
        f"chmod 600 {path}"
    )
    assert error.startswith("trustscan: error: nmap was not found")


def test_no_warning_for_a_missing_file(tmp_path: Path) -> None:
    assert permission_warning(tmp_path / "nope.yaml") is None


# --- properties ---------------------------------------------------------------

CREDENTIALS_FILE = """\
credentials:
  - store: {0}
    host: {1}
    port: {2}
    username: {3}
    password: {4}
    database: {5}
  - store: "*"
    username: {6}
    password: other
"""
CREDENTIALS_FILES = filled(
    CREDENTIALS_FILE,
    ("postgresql", VALUES),
    ("127.0.40.2", VALUES),
    ("5432", VALUES),
    ("shop", VALUES),
    ("s3cret", VALUES),
    ("shop", VALUES),
    ("auditor", VALUES),
)


@PROPERTY
@given(document=CREDENTIALS_FILES)
def test_a_credentials_file_loads_or_is_an_input_error(tmp_path: Path, document: bytes) -> None:
    path = tmp_path / "creds.yaml"
    path.write_bytes(document)
    message = ""
    try:
        loaded = load_credentials(path)
    except InputError as exc:  # and nothing else: any other exception fails
        message = str(exc)
    event(f"refused: {message.split(': ', 1)[-1][:30]}" if message else "loaded")
    if message:
        assert message.startswith(f"{path}:")
    else:
        assert all(isinstance(c.password, str) and c.store in STORES for c in loaded)


# The secret as the password, and as every other value: no problem may show it.
# (Spliced bytes may cut it, or tag it with `!x `; a tag's name may be shown,
# so no splice is a bare `!`.)
SECRET_FILES = filled(
    CREDENTIALS_FILE,
    *[(SECRET, st.one_of(st.just(SECRET), VALUES))] * 7,
)


@PROPERTY
@given(document=SECRET_FILES)
def test_no_problem_ever_shows_the_password(tmp_path: Path, document: bytes) -> None:
    path = tmp_path / "creds.yaml"
    path.write_bytes(document)
    message = ""
    try:
        load_credentials(path)
    except InputError as exc:
        message = str(exc)
    assert SECRET not in message
