"""The user's cache directory: entries only the user wrote are read back, with
their writer's stamp and intact; nothing about a cache ever raises."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scanner.support.user_cache import cache_home, disabled, read_cached, write_cached
from tests.support import requires_root

STAMP = "a" * 64
OTHER = "b" * 64


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TRUSTSCAN_NO_CACHE", raising=False)
    return tmp_path / "cache" / "trustscan"


def test_an_entry_comes_back_with_its_stamp_only(home: Path) -> None:
    assert read_cached("entry", STAMP) is None
    assert write_cached("entry", STAMP, b"content\nover lines")
    assert read_cached("entry", STAMP) == b"content\nover lines"
    assert read_cached("entry", OTHER) is None
    assert stat.S_IMODE((home / "entry").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_changed_byte_or_a_cut_is_not_handed_back(home: Path) -> None:
    write_cached("entry", STAMP, b"x" * 100)
    path = home / "entry"
    whole = path.read_bytes()
    path.write_bytes(whole[:-1] + b"y")
    assert read_cached("entry", STAMP) is None
    path.write_bytes(whole[:-10])
    assert read_cached("entry", STAMP) is None


def test_the_cache_home_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_home() == tmp_path / "xdg" / "trustscan"
    # The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
    for xdg in ("relative/cache", ""):
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert cache_home() == tmp_path / ".cache" / "trustscan"


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path: Path, home: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory would be")
    assert not write_cached("entry", STAMP, b"content")
    assert read_cached("entry", STAMP) is None


@pytest.mark.parametrize(("value", "off"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_trustscan_no_cache(
    home: Path, monkeypatch: pytest.MonkeyPatch, value: str, off: bool
) -> None:
    write_cached("entry", STAMP, b"content")
    monkeypatch.setenv("TRUSTSCAN_NO_CACHE", value)
    assert disabled() is off
    assert (read_cached("entry", STAMP) is None) is off
    assert write_cached("other", STAMP, b"content") is not off


def test_a_stamp_is_a_digest() -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        write_cached("entry", "version 1 2", b"content")


@requires_root
def test_an_entry_another_user_owns_is_not_read(home: Path) -> None:
    write_cached("entry", STAMP, b"content")
    os.chown(home / "entry", 12345, -1)
    assert read_cached("entry", STAMP) is None
    os.chown(home / "entry", os.getuid(), -1)
    os.chown(home, 12345, -1)  # the directory: another user could swap the entry
    assert read_cached("entry", STAMP) is None
