"""The credentials file: loaded with file:line errors, passwords kept out of reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.probes.credentials import DEFAULTS, StoreCredential, load_credentials
from scanner.support.errors import InputError

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
        ("credentials:\n  - store: oracle\n    username: a\n", 2, "store 'oracle' is not one of"),
        ("credentials:\n  - username: a\n    secret: b\n", 2, "unknown key 'secret'"),
        ("credentials:\n  - username: a\n  - username: b\n    port: 99999\n", 3, "not a port"),
        ("credentials:\n  - username: a\n    password: 1234\n", 2, "must be strings"),
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
