"""Where the history is kept: `--history URL`, `TRUSTSCAN_HISTORY`, else a
SQLite file in the user's data directory (XDG)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scanner.support.errors import InputError

DEFAULT_NAME = "history.sqlite"
_SCHEMES = "sqlite:///PATH or postgresql://[USER@]HOST[:PORT]/DATABASE"


def data_home() -> Path:
    """`$XDG_DATA_HOME/trustscan`, else `~/.local/share/trustscan`."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "trustscan"


def default_path() -> Path:
    return data_home() / DEFAULT_NAME


@dataclass(frozen=True)
class StoreLocation:
    """A history store: the SQLAlchemy URL to open, and how to show it (a
    PostgreSQL URL without its password; a file as its path)."""

    url: str
    shown: str
    path: Path | None = None  # the SQLite file

    @property
    def is_postgresql(self) -> bool:
        return self.path is None


def location(value: str | None) -> StoreLocation:
    """The store `--history` names (None or empty: the default file)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = (value or "").strip()
    if not text:
        path = default_path()
        return StoreLocation(f"sqlite:///{path}", str(path), path)
    if text[: len("sqlite:///")].lower() == "sqlite:///":
        raw = text[len("sqlite:///") :]
        if not raw:
            raise InputError(f"--history {text}: give the file, as {_SCHEMES}")
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else Path.cwd() / path
        return StoreLocation(f"sqlite:///{path}", str(path), path)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        try:
            url = make_url("postgresql+psycopg://" + text.split("://", 1)[1])
        except (ArgumentError, ValueError):  # ValueError: a port that is no number
            raise InputError(f"--history: not a PostgreSQL URL; give {_SCHEMES}") from None
        if not url.database:
            raise InputError(f"--history: name the database, as {_SCHEMES}")
        shown = url.set(drivername="postgresql").render_as_string(hide_password=True)
        return StoreLocation(url.render_as_string(hide_password=False), shown)
    shown = text.split("://", 1)[0] + "://..." if "://" in text else text[:80]
    raise InputError(f"--history {shown}: the history is {_SCHEMES}")
