"""Files trustscan keeps to start faster, in the user's cache directory:
`$XDG_CACHE_HOME/trustscan`, else `~/.cache/trustscan`.

A cache only ever saves time. Its entries are the user's own: the directory
0700 and each file 0600, written atomically, and a file is read back only
when this user owns it and nobody else may write it or its directory. Each
file starts with a line naming its format, the stamp its writer gave (a
digest of everything the content depends on) and the SHA-256 of the content,
so a file from another version, a stale one, a truncated one or one with a
flipped bit is never handed back: the caller makes the content again and
writes it over. Nothing here raises for a cache that cannot be read or
written (a read-only home, a full disk): the work is done as if there were
none.

`TRUSTSCAN_NO_CACHE=1` turns every cache off for one run (nothing is read or
written).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from pathlib import Path

from scanner.support.atomic import write_private_atomic

NO_CACHE_ENV = "TRUSTSCAN_NO_CACHE"
_MAGIC = b"trustscan-cache/1"
_STAMP = re.compile(r"[0-9a-f]{64}")
_ON = frozenset({"1", "true", "yes", "on"})


def disabled() -> bool:
    """`TRUSTSCAN_NO_CACHE` set to 1, true, yes or on (as the flags' variables read)."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() in _ON


def cache_home() -> Path | None:
    """`$XDG_CACHE_HOME/trustscan`, else `~/.cache/trustscan`; None without a home."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
    if base and Path(base).is_absolute():
        return Path(base) / "trustscan"
    try:
        return Path.home() / ".cache" / "trustscan"
    except RuntimeError:  # no HOME, and no entry in the password database
        return None


def _private(st: os.stat_result, others: int) -> bool:
    """Owned by this user, and none of the `others` permission bits set."""
    return st.st_uid == os.getuid() and not st.st_mode & others


def _directory(create: bool) -> Path | None:
    """The cache directory when it is this user's alone (created 0700 with
    `create`); None when it is not there, or others could put files in it."""
    home = cache_home()
    if home is None or disabled():
        return None
    try:
        if create:
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(home)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or not _private(st, stat.S_IWGRP | stat.S_IWOTH):
        return None
    return home


def read_cached(name: str, stamp: str) -> bytes | None:
    """The content of the entry `name` written with `stamp`, or None: no such
    entry, not this user's own, another stamp, or not what was written."""
    directory = _directory(create=False)
    if directory is None:
        return None
    try:
        fd = os.open(directory / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        try:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode) or not _private(st, 0o077):
                return None
            header = handle.readline(256)
            content = handle.read()
        except OSError:
            return None
    fields = header.rstrip(b"\n").split(b" ")
    if len(fields) != 3 or fields[0] != _MAGIC or fields[1] != stamp.encode():
        return None
    if hashlib.sha256(content).hexdigest().encode() != fields[2]:
        return None  # truncated or damaged
    return content


def write_cached(name: str, stamp: str, content: bytes) -> bool:
    """Keep `content` as the entry `name`, for `read_cached` with the same
    `stamp` (a SHA-256 hex digest); False when it could not be written."""
    if not _STAMP.fullmatch(stamp):
        raise ValueError(f"a cache stamp is a SHA-256 hex digest, not {stamp[:80]!r}")
    directory = _directory(create=True)
    if directory is None:
        return False
    digest = hashlib.sha256(content).hexdigest()
    header = b" ".join((_MAGIC, stamp.encode(), digest.encode())) + b"\n"
    with contextlib.suppress(OSError):
        write_private_atomic(directory / name, header + content)
        return True
    return False
