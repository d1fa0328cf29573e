"""Read the user's input files with a size cap and a clear error for each failure."""

from __future__ import annotations

from pathlib import Path

from scanner.support.errors import InputError


class FileReadError(InputError):
    """A file that cannot be read, is too large or is not UTF-8; `line` is 1-based."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        where = f"{path}:{line}" if line > 1 else str(path)
        super().__init__(f"{where}: {problem}")


def read_bytes(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise FileReadError(path, 1, f"cannot read {what}: {exc.strerror}") from None
    if len(data) > limit:
        raise FileReadError(path, 1, f"{what} is larger than {limit} bytes")
    return data


def read_text(path: Path, limit: int, what: str) -> str:
    return decode_text(read_bytes(path, limit, what), path, what)


def decode_text(data: bytes, path: Path, what: str) -> str:
    """`read_text` of bytes already read (and hashed: the rules cache)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileReadError(path, line, f"{what} is not UTF-8 text") from None
