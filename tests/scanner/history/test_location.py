"""`--history URL`: the SQLite and PostgreSQL forms, the default file in the
XDG data directory, and how a store is shown (never with its password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.history.location import StoreLocation, default_path, location
from scanner.support.errors import InputError

SCHEMES = "sqlite:///PATH or postgresql://[USER@]HOST[:PORT]/DATABASE"


def test_no_url_is_the_default_file_under_xdg_data_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    expected = tmp_path / "trustscan" / "history.sqlite"

    for value in (None, "", "  "):
        assert location(value) == StoreLocation(f"sqlite:///{expected}", str(expected), expected)
    assert default_path() == expected
    assert not location(None).is_postgresql


@pytest.mark.parametrize("xdg", [None, "", "relative/data"])
def test_without_an_absolute_xdg_data_home_the_default_is_under_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xdg: str | None
) -> None:
    # The XDG spec: a relative XDG_DATA_HOME is invalid and ignored.
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)

    assert location(None).path == tmp_path / ".local" / "share" / "trustscan" / "history.sqlite"


def test_sqlite_urls_name_an_absolute_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    absolute = location(f"sqlite:///{tmp_path}/team.sqlite")
    relative = location("sqlite:///runs/history.db")
    home = location("sqlite:///~/history.db")

    assert absolute == StoreLocation(
        f"sqlite:///{tmp_path}/team.sqlite", f"{tmp_path}/team.sqlite", tmp_path / "team.sqlite"
    )
    assert relative.path == tmp_path / "runs" / "history.db"
    assert relative.url == f"sqlite:///{tmp_path}/runs/history.db"
    assert home.path == tmp_path / "home" / "history.db"
    assert not absolute.is_postgresql


@pytest.mark.parametrize(
    ("value", "url", "shown"),
    [
        (
            "postgresql://scanner@db.example.test:5433/trustscan",
            "postgresql+psycopg://scanner@db.example.test:5433/trustscan",
            "postgresql://scanner@db.example.test:5433/trustscan",
        ),
        (
            "postgres://db.example.test/trustscan",
            "postgresql+psycopg://db.example.test/trustscan",
            "postgresql://db.example.test/trustscan",
        ),
        (
            "postgresql+psycopg://scanner@db.example.test/trustscan?sslmode=require",
            "postgresql+psycopg://scanner@db.example.test/trustscan?sslmode=require",
            "postgresql://scanner@db.example.test/trustscan?sslmode=require",
        ),
        (
            "PostgreSQL://db.example.test/trustscan",
            "postgresql+psycopg://db.example.test/trustscan",
            "postgresql://db.example.test/trustscan",
        ),
    ],
)
def test_postgresql_urls_go_through_psycopg(value: str, url: str, shown: str) -> None:
    where = location(value)

    assert where == StoreLocation(url, shown)
    assert where.is_postgresql
    assert where.path is None


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://scanner:s3cret-pw@db.example.test:5433/trustscan",
        "postgres://scanner:s3cret-pw@db.example.test:5433/trustscan",
    ],
)
def test_a_password_is_used_but_never_shown(value: str) -> None:
    where = location(value)

    assert where.shown == "postgresql://scanner:***@db.example.test:5433/trustscan"
    assert where.url == "postgresql+psycopg://scanner:s3cret-pw@db.example.test:5433/trustscan"


def test_an_escaped_password_is_hidden_too() -> None:
    where = location("postgresql://scanner:s3cret%40pw@db.example.test/trustscan")

    assert where.shown == "postgresql://scanner:***@db.example.test/trustscan"
    assert "s3cret" not in where.shown


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("mysql://root:s3cret-pw@db.example.test/shop", "--history mysql://...: the history is"),
        ("history.sqlite", "--history history.sqlite: the history is"),
        ("sqlite://history.sqlite", "--history sqlite://...: the history is"),
        ("https://db.example.test/trustscan", "--history https://...: the history is"),
    ],
)
def test_other_schemes_are_refused_with_the_forms_that_work(value: str, says: str) -> None:
    with pytest.raises(InputError) as refused:
        location(value)

    assert str(refused.value) == f"{says} {SCHEMES}"
    assert "s3cret-pw" not in str(refused.value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("sqlite:///", "--history sqlite:///: give the file, as"),
        ("postgresql://db.example.test", "--history: name the database, as"),
        ("postgresql://scanner:s3cret-pw@db.example.test/", "--history: name the database, as"),
        (
            "postgresql://scanner:s3cret-pw@db.example.test:fivefour/trustscan",
            "--history: not a PostgreSQL URL; give",
        ),
    ],
)
def test_incomplete_urls_are_input_errors(value: str, says: str) -> None:
    with pytest.raises(InputError) as refused:
        location(value)

    assert str(refused.value) == f"{says} {SCHEMES}"
    assert "s3cret-pw" not in str(refused.value)
